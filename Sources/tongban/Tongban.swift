import ArgumentParser

@main
struct Tongban: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tongban", abstract: "Tongban hub")
    func run() async throws {}
}
