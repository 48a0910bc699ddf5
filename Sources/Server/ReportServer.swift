import Basics
import Foundation
import Hummingbird
import Production
import Verification
import Views

/// `dcprod serve`: the report's pages (`ReportSite`), a JSON API of the same numbers, and `/metrics`
/// for Prometheus, over HTTP. Every answer is drawn from the state store when asked for, through
/// read-only WAL connections: the server never takes the production's lock and never writes, so it
/// keeps answering while `run`, `submit`, `verify` and `load` work.
///
/// Nothing is read from the file system by the request's path: a path is one of the site's pages
/// (`ReportSite.Page(path:)`) or API routes, or it is a 404 — `..`, `%2e%2e`, absolute paths and
/// symbolic links never reach a file.
public struct ReportServer: Sendable {
    public let production: Production
    public let host: String
    public let port: Int
    let site: ReportSite

    /// A server of a production's report.
    ///
    /// - Parameters:
    ///   - production: The production, opened read-only.
    ///   - host: The address to bind: 127.0.0.1 unless a site says otherwise.
    ///   - port: The port; 0 lets the system choose one (`run(onRunning:)` says which).
    /// - Throws: `TemplateError` when a report template is not valid Mustache.
    public init(production: Production, host: String, port: Int) throws {
        self.production = production
        self.host = host
        self.port = port
        site = try ReportSite(production: production)
    }

    /// Serves until SIGINT or SIGTERM, then stops cleanly.
    ///
    /// - Parameter onRunning: Called once the server listens, with its port.
    public func run(onRunning: @escaping @Sendable (Int) -> Void) async throws {
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            self.respond(to: request)
        }
        let app = Application(responder: responder, configuration: .init(address: .hostname(host, port: port), serverName: "dcprod"),
                              onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) })
        try await app.runService()
    }

    /// The answer to a request: a page, an API document, the metrics, or an error page.
    func respond(to request: Request) -> Response {
        guard request.method == .get || request.method == .head else {
            return Self.text(.methodNotAllowed, "dcprod serve is read-only: GET only\n")
        }
        do {
            return try route(request) ?? Self.text(.notFound, "not found: \(request.uri.path)\n")
        } catch {
            return Self.text(.internalServerError, "dcprod: \(FileSystemProblem.text(of: error))\n")
        }
    }

    private func route(_ request: Request) throws -> Response? {
        let path = request.uri.path
        let query = request.uri.queryParameters
        switch path {
        case "/metrics":
            return Self.response(.ok, "text/plain; version=0.0.4; charset=utf-8", try ProductionMetrics(production: production).text())
        case "/api/summary":
            return try Self.json(try production.store.taskSummary())
        case "/api/accounting":
            return try Self.json(try production.store.accounting())
        case "/api/forecast":
            return try Self.json(try Forecast.make(for: production))
        case "/api/events":
            guard let step = query.get("step").flatMap({ Step(rawValue: String($0)) }),
                  let filter = query.get("filter").flatMap({ Filter(rawValue: String($0)) }),
                  let column = query.get("state").map({ String($0) }) else {
                return Self.text(.badRequest, "give step=STEP&filter=FILTER&state=COLUMN[&page=N]\n")
            }
            let page = query.get("page").flatMap { Int($0) } ?? 1
            guard let list = try production.store.eventList(step: step, filter: filter, column: column, page: page) else { return nil }
            return try Self.json(list)
        default:
            if path.hasPrefix("/api/steps/") {
                guard let step = Step(rawValue: String(path.dropFirst("/api/steps/".count))) else { return nil }
                let verifier = try Verifier(production: production, step: step)
                let reports = try production.config.filters.map { try verifier.report(filter: $0).json }
                var document = Data("[".utf8)
                for (index, report) in reports.enumerated() {
                    if index > 0 { document.append(Data(",".utf8)) }
                    document.append(report)
                }
                document.append(Data("]".utf8))
                return Self.response(.ok, "application/json", String(decoding: document, as: UTF8.self))
            }
            guard path.hasPrefix("/"), let page = ReportSite.Page(path: String(path.dropFirst())),
                  let html = try site.html(page) else { return nil }
            return Self.response(.ok, "text/html; charset=utf-8", html)
        }
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return response(.ok, "application/json", String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        response(status, "text/plain; charset=utf-8", body)
    }

    static func response(_ status: HTTPResponse.Status, _ contentType: String, _ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
