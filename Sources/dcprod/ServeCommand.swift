import ArgumentParser
import Foundation
import Production
import Server

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the report's pages, a JSON API and Prometheus metrics over HTTP, live from the state store.",
        discussion: """
            Pages as `dcprod report` writes them (/ is the task summary), drawn at each request. JSON: /api/summary, \
            /api/steps/STEP, /api/events?step=&filter=&state=&page=, /api/accounting, /api/forecast; /metrics in the \
            Prometheus text format. Read-only: it never takes the production's lock, and keeps serving while run, \
            submit, verify and load write. Stops on SIGINT or SIGTERM.
            """)

    @OptionGroup var options: ProductionOptions

    @Option(help: "The address to listen on. Anything but 127.0.0.1 shows the production to the network.")
    var host = "127.0.0.1"

    @Option(help: "The port; 0 lets the system choose one.")
    var port = 8080

    func run() async throws {
        let server = try reporting {
            let root = try options.root()
            guard FileManager.default.fileExists(atPath: root.appendingPathComponent(ProductionTree.configFileName).path) else {
                throw ProductionError.notPrepared(root.path)
            }
            return try ReportServer(production: try options.open(writing: false), host: host, port: port)
        }
        let address = host
        try await server.run { port in
            // Unbuffered: whoever started the server reads the port as soon as it listens.
            FileHandle.standardOutput.write(Data("serve: http://\(address):\(port)/ (Ctrl-C stops)\n".utf8))
        }
    }
}
