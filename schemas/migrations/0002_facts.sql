-- Tongban views, part 2: the fact tables.
--
-- Facts are stored, state is derived. Each applied event becomes one or more fact rows holding what the
-- event says (natural keys, effective dates) and the id of the event that established it (provenance).
-- Current state is computed by the v_* views and the functions of 0003 from these rows only, so the same
-- set of facts gives the same answers whatever order they arrived in.
--
-- Every fact table has:
--   effective_time  the envelope `time` (when the fact took legal effect, or when the agency recorded it);
--   event_id        the envelope id of the event that established the row (tongban.event);
--   fact_hash       md5 of the event's current type and upcast `data` (jsonb text: key order and
--                   whitespace do not matter), as a uuid.
-- Rows are inserted with ON CONFLICT DO NOTHING against a unique key that includes fact_hash: the same fact
-- sent again, with the same id or a new one, adds nothing. A fact with the same record key but different
-- content is a different row: both are kept, and the views choose between them deterministically (the
-- earliest by effective date, then effective_time, then event_id), never by arrival order.
-- Dates in `data` are stored as date; months (`YYYY-MM`) as the date of their first day.

CREATE TABLE tongban.person_registration (
    person_id text NOT NULL,
    name text NOT NULL,
    sex text NOT NULL CHECK (sex IN ('male', 'female')),
    birth_date date NOT NULL,
    -- The first day the person is on the register: the birth date, or person-registered's effectiveDate.
    registered_on date NOT NULL,
    -- 'birth' (household.birth-registered) or 'registration' (household.person-registered).
    kind text NOT NULL CHECK (kind IN ('birth', 'registration')),
    household_id text NOT NULL,
    relationship_to_head text NOT NULL,
    birth_place text,
    mother_id text,
    father_id text,
    previous_region text,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX person_registration_person ON tongban.person_registration (person_id);
CREATE INDEX person_registration_mother ON tongban.person_registration (mother_id) WHERE kind = 'birth';
CREATE INDEX person_registration_father ON tongban.person_registration (father_id) WHERE kind = 'birth';

CREATE TABLE tongban.household (
    household_id text NOT NULL,
    address_region_code text NOT NULL,
    address text NOT NULL,
    head_id text NOT NULL,
    established_on date NOT NULL,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX household_id ON tongban.household (household_id);

-- Joining ('in') and leaving ('out') a household. Births and person registrations also join one.
CREATE TABLE tongban.membership_change (
    person_id text NOT NULL,
    household_id text NOT NULL,
    direction text NOT NULL CHECK (direction IN ('in', 'out')),
    relationship_to_head text NOT NULL,
    effective_on date NOT NULL,
    -- 'birth', 'registration' or 'move' (member-moved-in / member-moved-out).
    cause text NOT NULL,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX membership_change_person ON tongban.membership_change (person_id, effective_on);

CREATE TABLE tongban.name_change (
    person_id text NOT NULL,
    previous_name text NOT NULL,
    new_name text NOT NULL,
    effective_on date NOT NULL,
    -- v2's reasonCode; 'unspecified' for a v1 event (upcast).
    reason_code text NOT NULL,
    note text,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX name_change_person ON tongban.name_change (person_id, effective_on);

CREATE TABLE tongban.death (
    person_id text NOT NULL,
    date_of_death date NOT NULL,
    death_place text,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX death_person ON tongban.death (person_id);

CREATE TABLE tongban.marriage (
    marriage_record_number text NOT NULL,
    spouse_a_id text NOT NULL,
    spouse_a_name text NOT NULL,
    spouse_b_id text NOT NULL,
    spouse_b_name text NOT NULL,
    registered_on date NOT NULL,
    registry_region text NOT NULL,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX marriage_record ON tongban.marriage (marriage_record_number);
CREATE INDEX marriage_spouse_a ON tongban.marriage (spouse_a_id);
CREATE INDEX marriage_spouse_b ON tongban.marriage (spouse_b_id);

CREATE TABLE tongban.divorce (
    marriage_record_number text NOT NULL,
    spouse_a_id text NOT NULL,
    spouse_b_id text NOT NULL,
    divorced_on date NOT NULL,
    kind text NOT NULL CHECK (kind IN ('registry', 'court')),
    registry_region text,
    court_case_number text,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX divorce_record ON tongban.divorce (marriage_record_number);

CREATE TABLE tongban.adoption (
    adoption_record_number text NOT NULL,
    child_id text NOT NULL,
    adoptive_parent_ids text[] NOT NULL,
    -- Empty when the birth parents are unknown (a foundling).
    birth_parent_ids text[] NOT NULL,
    effective_on date NOT NULL,
    registry_region text NOT NULL,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX adoption_record ON tongban.adoption (adoption_record_number);
CREATE INDEX adoption_child ON tongban.adoption (child_id);
CREATE INDEX adoption_parents ON tongban.adoption USING gin (adoptive_parent_ids);

CREATE TABLE tongban.adoption_dissolution (
    adoption_record_number text NOT NULL,
    child_id text NOT NULL,
    dissolved_on date NOT NULL,
    kind text NOT NULL CHECK (kind IN ('registry', 'court')),
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX adoption_dissolution_record ON tongban.adoption_dissolution (adoption_record_number);

CREATE TABLE tongban.si_enrollment (
    person_id text NOT NULL,
    name text NOT NULL,
    insurance_type text NOT NULL,
    employer_id text,
    region_code text NOT NULL,
    start_month date NOT NULL,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX si_enrollment_person ON tongban.si_enrollment (person_id, insurance_type);

CREATE TABLE tongban.si_enrollment_end (
    person_id text NOT NULL,
    insurance_type text NOT NULL,
    region_code text NOT NULL,
    end_month date NOT NULL,
    reason_code text NOT NULL,
    note text,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX si_enrollment_end_person ON tongban.si_enrollment_end (person_id, insurance_type);

CREATE TABLE tongban.contribution (
    posting_id text NOT NULL,
    person_id text NOT NULL,
    month date NOT NULL,
    insurance_type text NOT NULL,
    region_code text NOT NULL,
    base numeric(14, 2) NOT NULL,
    employer_amount numeric(14, 2) NOT NULL,
    employee_amount numeric(14, 2) NOT NULL,
    employer_id text,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX contribution_posting ON tongban.contribution (posting_id);
CREATE INDEX contribution_person ON tongban.contribution (person_id, insurance_type, month);

CREATE TABLE tongban.contribution_reversal (
    posting_id text NOT NULL,
    person_id text NOT NULL,
    reason_code text NOT NULL,
    note text,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX contribution_reversal_posting ON tongban.contribution_reversal (posting_id);

CREATE TABLE tongban.mi_enrollment (
    person_id text NOT NULL,
    name text NOT NULL,
    scheme text NOT NULL CHECK (scheme IN ('employee', 'resident')),
    region_code text NOT NULL,
    start_date date NOT NULL,
    employer_id text,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX mi_enrollment_person ON tongban.mi_enrollment (person_id, start_date);

CREATE TABLE tongban.mi_voucher (
    person_id text NOT NULL,
    voucher_id text NOT NULL,
    activated_at timestamptz NOT NULL,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX mi_voucher_person ON tongban.mi_voucher (person_id);

CREATE TABLE tongban.mi_filing (
    filing_id text NOT NULL,
    person_id text NOT NULL,
    from_region text NOT NULL,
    to_region text NOT NULL,
    category text NOT NULL,
    valid_from date NOT NULL,
    -- Last day the filing applies; NULL for an open-ended filing.
    valid_to date,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX mi_filing_filing ON tongban.mi_filing (filing_id);
CREATE INDEX mi_filing_person ON tongban.mi_filing (person_id);

CREATE TABLE tongban.mi_filing_cancellation (
    filing_id text NOT NULL,
    person_id text NOT NULL,
    -- First day the filing no longer applies.
    cancelled_from date NOT NULL,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX mi_filing_cancellation_filing ON tongban.mi_filing_cancellation (filing_id);

-- The property itself, from property.title-registered.
CREATE TABLE tongban.title (
    title_number text NOT NULL,
    certificate_number text NOT NULL,
    property_region text NOT NULL,
    address text NOT NULL,
    area_square_meters numeric(12, 2) NOT NULL,
    use text NOT NULL,
    registered_on date NOT NULL,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX title_number ON tongban.title (title_number);

-- One owner set of a title from a date: title-registered (kind 'registration') or title-transferred
-- (kind = the transfer's ground). The set holds until the next set of the same title.
CREATE TABLE tongban.title_ownership (
    title_number text NOT NULL,
    certificate_number text NOT NULL,
    co_ownership text NOT NULL CHECK (co_ownership IN ('sole', 'joint', 'in-shares')),
    effective_on date NOT NULL,
    kind text NOT NULL,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX title_ownership_title ON tongban.title_ownership (title_number, effective_on);

-- The owners of one owner set (fact_hash of the tongban.title_ownership row).
CREATE TABLE tongban.title_owner (
    fact_hash uuid NOT NULL REFERENCES tongban.title_ownership (fact_hash),
    title_number text NOT NULL,
    -- Position in the event's owner list, from 0.
    position int NOT NULL,
    person_id text NOT NULL,
    name text NOT NULL,
    -- The share as registered ("1/2") and as numbers.
    share text NOT NULL,
    share_numerator int NOT NULL,
    share_denominator int NOT NULL,
    event_id uuid NOT NULL,
    PRIMARY KEY (fact_hash, person_id)
);
CREATE INDEX title_owner_person ON tongban.title_owner (person_id);

CREATE TABLE tongban.mortgage (
    mortgage_record_number text NOT NULL,
    title_number text NOT NULL,
    owner_ids text[] NOT NULL,
    creditor_name text NOT NULL,
    creditor_code text,
    amount numeric(16, 2) NOT NULL,
    registered_on date NOT NULL,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX mortgage_title ON tongban.mortgage (title_number);
CREATE INDEX mortgage_record ON tongban.mortgage (mortgage_record_number);

CREATE TABLE tongban.mortgage_release (
    mortgage_record_number text NOT NULL,
    title_number text NOT NULL,
    owner_ids text[] NOT NULL,
    released_on date NOT NULL,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX mortgage_release_record ON tongban.mortgage_release (mortgage_record_number);

CREATE TABLE tongban.seizure (
    seizure_record_number text NOT NULL,
    title_number text NOT NULL,
    owner_ids text[] NOT NULL,
    court text NOT NULL,
    case_number text NOT NULL,
    registered_on date NOT NULL,
    -- Last day of the seizure period, if the order sets one.
    valid_to date,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX seizure_title ON tongban.seizure (title_number);
CREATE INDEX seizure_record ON tongban.seizure (seizure_record_number);

CREATE TABLE tongban.seizure_lift (
    seizure_record_number text NOT NULL,
    title_number text NOT NULL,
    owner_ids text[] NOT NULL,
    lifted_on date NOT NULL,
    effective_time timestamptz NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL UNIQUE
);
CREATE INDEX seizure_lift_record ON tongban.seizure_lift (seizure_record_number);

-- Every identity attribute any department asserted about a person, with its source. The household
-- registry ('household') is authoritative for name, sex and birth date; other departments' names are
-- compared with it in v_identity_conflict.
CREATE TABLE tongban.identity_assertion (
    person_id text NOT NULL,
    attribute text NOT NULL CHECK (attribute IN ('name', 'sex', 'birth_date')),
    value text NOT NULL,
    department text NOT NULL,
    event_type text NOT NULL,
    -- The envelope time, and the day the value holds from (for the household registry: the registration
    -- or name change's effective date; for others: the Beijing date of the envelope time).
    asserted_at timestamptz NOT NULL,
    asserted_on date NOT NULL,
    event_id uuid NOT NULL,
    fact_hash uuid NOT NULL,
    PRIMARY KEY (fact_hash, person_id, attribute)
);
CREATE INDEX identity_assertion_person ON tongban.identity_assertion (person_id, attribute, asserted_on);
