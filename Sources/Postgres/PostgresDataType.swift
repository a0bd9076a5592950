/// A PostgreSQL data type, identified by its OID (the `oid` column of `pg_type`).
public struct PostgresDataType: Hashable, Sendable, CustomStringConvertible {
    /// The type's OID.
    public let oid: UInt32

    /// Creates a type from its OID.
    /// - Parameter oid: the `pg_type.oid`.
    public init(oid: UInt32) { self.oid = oid }

    /// No declared type: the server infers it from the context (used for `String` binds).
    public static let unknown = PostgresDataType(oid: 0)
    /// `bool`
    public static let bool = PostgresDataType(oid: 16)
    /// `bytea`
    public static let bytea = PostgresDataType(oid: 17)
    /// `name`
    public static let name = PostgresDataType(oid: 19)
    /// `int8` / `bigint`
    public static let int8 = PostgresDataType(oid: 20)
    /// `int2` / `smallint`
    public static let int2 = PostgresDataType(oid: 21)
    /// `int4` / `integer`
    public static let int4 = PostgresDataType(oid: 23)
    /// `text`
    public static let text = PostgresDataType(oid: 25)
    /// `json`
    public static let json = PostgresDataType(oid: 114)
    /// `float4` / `real`
    public static let float4 = PostgresDataType(oid: 700)
    /// `float8` / `double precision`
    public static let float8 = PostgresDataType(oid: 701)
    /// `text[]`
    public static let textArray = PostgresDataType(oid: 1009)
    /// `int8[]`
    public static let int8Array = PostgresDataType(oid: 1016)
    /// `varchar`
    public static let varchar = PostgresDataType(oid: 1043)
    /// `date`
    public static let date = PostgresDataType(oid: 1082)
    /// `timestamp` (without time zone)
    public static let timestamp = PostgresDataType(oid: 1114)
    /// `timestamptz`
    public static let timestamptz = PostgresDataType(oid: 1184)
    /// `numeric`
    public static let numeric = PostgresDataType(oid: 1700)
    /// `uuid`
    public static let uuid = PostgresDataType(oid: 2950)
    /// `uuid[]`
    public static let uuidArray = PostgresDataType(oid: 2951)
    /// `jsonb`
    public static let jsonb = PostgresDataType(oid: 3802)

    public var description: String { "oid \(oid)" }
}

/// How an encoded value was written.
public enum PostgresFormat: Sendable, Hashable {
    /// PostgreSQL's text representation (as `psql` shows it).
    case text
    /// PostgreSQL's binary representation (`typsend`/`typreceive`).
    case binary
    /// SQL NULL: nothing was written.
    case null
}
