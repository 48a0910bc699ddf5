// swift-tools-version:6.0
import PackageDescription

let grdb = Target.Dependency.product(name: "GRDB", package: "GRDB.swift")

let package = Package(
    name: "dcprod",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "dcprod", targets: ["dcprod"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // System libraries: module maps only (see SERVICES.md).
        .systemLibrary(name: "CFITSIO", pkgConfig: "cfitsio",
                       providers: [.apt(["libcfitsio-dev"])]),
        .systemLibrary(name: "CWCSLIB", providers: [.apt(["wcslib-dev"])]),
        .systemLibrary(name: "CMariaDB", pkgConfig: "libmariadb",
                       providers: [.apt(["libmariadb-dev"])]),

        // Config, tree, state store, logbook.
        .target(name: "Production", dependencies: [grdb, .product(name: "Logging", package: "swift-log")]),
        // FITS and WCS wrappers, regions, frame names, inventory.
        .target(name: "Sky", dependencies: ["Production", "CFITSIO", "CWCSLIB"]),
        // Steps, events into jobs, manifests and batch scripts from templates/.
        .target(name: "Planning", dependencies: [
            "Production", "Sky", grdb, .product(name: "Mustache", package: "swift-mustache"),
        ]),
        // BatchSystem protocol and its backends: local, Slurm, Grid Engine.
        .target(name: "Batch", dependencies: ["Planning", "Production", grdb]),
        // Outcome records: the job runner that writes them, classes and rules, verify and its reports (text, JSON).
        .target(name: "Verification", dependencies: ["Planning", "Production", grdb]),
        // The catalog: CatalogDatabase protocol, SQLite and MariaDB engines, schema, exactly-once CSV loading.
        .target(name: "Catalog", dependencies: ["Planning", "Production", "CMariaDB", grdb]),
        // What people look at: the task summary, step pages with SVG figures, logbook and accounting
        // pages, the forecast; rendered from templates/reports/ for `dcprod report` and `dcprod serve`.
        .target(name: "Views", dependencies: [
            "Verification", "Planning", "Sky", "Production", grdb, .product(name: "Mustache", package: "swift-mustache"),
        ]),
        // The chain of steps: what is ready to plan, submit, verify, load; resubmission.
        .target(name: "Campaign", dependencies: ["Batch", "Verification", "Catalog", "Planning", "Production", "Views"]),
        // `dcprod serve`: the pages and a JSON API over HTTP, and /metrics for Prometheus.
        .target(name: "Server", dependencies: [
            "Views", "Production",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // The reference payload: simulate, processCcd.
        .target(name: "Pipeline", dependencies: ["Sky"]),
        // The command line: argument parsing and printing only.
        .executableTarget(name: "dcprod", dependencies: [
            "Production", "Sky", "Planning", "Batch", "Verification", "Catalog", "Campaign", "Pipeline", "Views", "Server",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "ProductionTests", dependencies: ["Production", grdb]),
        .testTarget(name: "SkyTests", dependencies: ["Sky", "Pipeline", "Production", grdb]),
        .testTarget(name: "BatchTests", dependencies: ["Batch", "Production"]),
        .testTarget(name: "PlanningTests", dependencies: ["Planning", "Production", "Sky"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Sky", "Production"]),
        .testTarget(name: "VerificationTests", dependencies: ["Verification", "Planning", "Production"], exclude: ["Fixtures"]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "Production"]),
        .testTarget(name: "ViewsTests", dependencies: ["Views", "Verification", "Production"]),
        .testTarget(name: "EndToEndTests", dependencies: ["dcprod", "Production"], exclude: ["Fixtures"]),
    ]
)
