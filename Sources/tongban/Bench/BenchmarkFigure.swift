/// One measured figure of a benchmark run.
struct BenchmarkFigure: Sendable {
    let name: String
    let value: Double
    let unit: String
    let note: String
}
