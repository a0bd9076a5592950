import Foundation

/// Reads the JSON the views' queries build into the generated types (times are ISO 8601), and the two columns every
/// question ends with.
struct ViewsJSON {
    /// The last two columns of a question's statement: its evidence (every event of a CTE `cited(id)`, with its type,
    /// department, effective time and position) and its stream position (the checkpoints of the view group named by
    /// a CTE `view_group(name)`), as JSON text. A constant: the values are bound by the statement's own CTEs.
    static let citedEvidenceAndPositions = """
        coalesce((SELECT json_agg(json_build_object('eventId', e.event_id, 'type', e.type,
            'department', split_part(e.type, '.', 1),
            'effectiveTime', to_char(e.effective_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            'topic', e.topic, 'partition', e.partition, 'offset', e.message_offset) ORDER BY e.event_id)
            FROM tongban.event e WHERE e.event_id IN (SELECT id FROM cited)), '[]')::text,
        coalesce((SELECT json_agg(json_build_object('topic', c.topic, 'partition', c.partition,
            'nextOffset', c.next_offset) ORDER BY c.topic, c.partition)
            FROM tongban.checkpoint c WHERE c.view_group = (SELECT name FROM view_group)), '[]')::text
        """

    private let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    func decode<T: Decodable>(_ text: String) throws -> T {
        try decoder.decode(T.self, from: Data(text.utf8))
    }
}
