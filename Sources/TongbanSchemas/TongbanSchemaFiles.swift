/// The files of the repository's `schemas/` folder, embedded in the binary at build time.
///
/// Event schemas, the event catalog, SQL migrations and the OpenAPI document are contracts with
/// the outside. The code reads them from here, so it always uses exactly what is published.
public enum TongbanSchemaFiles {
    /// Every embedded path, relative to `schemas/` (e.g. `events/household/birth-registered.v1.json`), sorted.
    public static var paths: [String] { embedded.keys.sorted() }

    /// The bytes of one file.
    /// - Parameter path: the path relative to `schemas/`.
    /// - Returns: the file's bytes, or `nil` when there is no such file.
    public static func bytes(_ path: String) -> [UInt8]? { embedded[path] }

    /// The text of one file (UTF-8).
    /// - Parameter path: the path relative to `schemas/`.
    /// - Returns: the file's text, or `nil` when there is no such file.
    public static func text(_ path: String) -> String? { embedded[path].map { String(decoding: $0, as: UTF8.self) } }
}
