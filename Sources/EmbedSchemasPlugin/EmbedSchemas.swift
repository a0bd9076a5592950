import Foundation
import PackagePlugin

/// Embeds every file under the package's `schemas/` folder into the target as Swift source, so the
/// binary validates against exactly the files the repository publishes (no second copy to drift).
@main
struct EmbedSchemas: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let schemas = context.package.directoryURL.appending(path: "schemas")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedSchemaFiles.swift")
        var inputs: [URL] = []
        if let walker = FileManager.default.enumerator(at: schemas, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let url as URL in walker
            where (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
                inputs.append(url)
            }
        }
        inputs.sort { $0.path < $1.path }
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) files of schemas/",
                executable: try context.tool(named: "schema-embedder").url,
                arguments: [schemas.path, output.path],
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
