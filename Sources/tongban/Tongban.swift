import ArgumentParser

/// The one Tongban executable; each job is a subcommand.
@main
struct Tongban: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tongban",
        abstract:
            "Tongban (通办): departments share facts about people as signed events; certificates are issued from verified views.",
        version: TongbanVersion.current,
        subcommands: [
            DevCommand.self, DoctorCommand.self, KeysCommand.self, GenerateCommand.self, ValidateCommand.self,
            PublishCommand.self, ProjectCommand.self, RebuildCommand.self, DeadLettersCommand.self, AuditCommand.self,
            ClientsCommand.self, CertificatesCommand.self, BenchCommand.self, ServeCommand.self, StatusCommand.self,
            MigrateCommand.self,
        ]
    )
}

/// The version this build reports.
enum TongbanVersion {
    static let current = "0.1.0-dev"
}
