// swift-tools-version:6.0
import PackageDescription

let grdb = Target.Dependency.product(name: "GRDB", package: "GRDB.swift")
let grdbSQLite = Target.Dependency.product(name: "GRDBSQLite", package: "GRDB.swift")
let mustache = Target.Dependency.product(name: "Mustache", package: "swift-mustache")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")

let package = Package(
    name: "dcprod",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "dcprod", targets: ["dcprod"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // System libraries: module maps only (their Debian packages: scripts/system-packages.sh).
        .systemLibrary(name: "CFITSIO", pkgConfig: "cfitsio",
                       providers: [.apt(["libcfitsio-dev"])]),
        .systemLibrary(name: "CWCSLIB", providers: [.apt(["wcslib-dev"])]),
        .systemLibrary(name: "CMariaDB", pkgConfig: "libmariadb",
                       providers: [.apt(["libmariadb-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),

        // The vocabulary and utilities every library, the payload's included, shares: steps and the
        // names of their output files, filters, regions, config and template errors, template lines,
        // outcome lines; child processes, atomic files, JSON text, walltimes and memory sizes.
        .target(name: "Basics"),
        // Config, tree, state store, logbook.
        .target(name: "Production", dependencies: ["Basics", grdb, grdbSQLite]),
        // FITS and WCS wrappers, the sky map (tracts, patches), frame names and headers: what the
        // payload needs of the sky, without the state store.
        .target(name: "Sky", dependencies: ["Basics", "CFITSIO", "CWCSLIB"]),
        // Inventory (input frames into processCcd events, with their sky map patches), events into
        // jobs, manifests and batch scripts from templates/.
        .target(name: "Planning", dependencies: ["Basics", "Production", "Sky", logging, mustache]),
        // BatchSystem protocol and its backends: local, Slurm, Grid Engine.
        .target(name: "Batch", dependencies: ["Basics", "Production", logging]),
        // Outcome records: the job runner that writes them, classes and rules, verify and its reports (text, JSON).
        .target(name: "Verification", dependencies: ["Basics", "Planning", "Production", logging]),
        // The catalog: CatalogDatabase protocol, SQLite and MariaDB engines, schema, exactly-once CSV loading.
        .target(name: "Catalog", dependencies: ["Basics", "Production", "CMariaDB", grdb, grdbSQLite, logging]),
        // What people look at: the task summary, step pages with SVG figures, logbook and accounting
        // pages, the forecast; rendered from templates/reports/ for `dcprod report` and `dcprod serve`.
        .target(name: "Views", dependencies: ["Basics", "Verification", "Planning", "Sky", "Production", grdb, logging, mustache]),
        // The chain of steps: what is ready to plan, submit, verify, load; resubmission.
        .target(name: "Campaign", dependencies: ["Basics", "Batch", "Verification", "Catalog", "Planning", "Production", "Views"]),
        // `dcprod serve`: the pages and a JSON API over HTTP, and /metrics for Prometheus.
        .target(name: "Server", dependencies: [
            "Basics", "Views", "Verification", "Production",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // The reference payload: processCcd, coadd, forcedPhot, and its photometry against the truth.
        .target(name: "Pipeline", dependencies: ["Basics", "Sky"]),
        // `dcprod pipe simulate`: seeded SDSS-like frames, their reference catalog and truth, drawn
        // with the payload's PSF model.
        .target(name: "Simulation", dependencies: ["Basics", "Pipeline", "Sky"]),
        // `dcprod export`: a selection's rows streamed into a FITS binary table or an astropy HDF5 table.
        .target(name: "CatalogExport", dependencies: ["Basics", "Catalog", "CatalogAnalysis", "Sky", "CHDF5"]),
        // What a scientist does with the catalog: a region's rows (CatalogSelection), their crossmatch
        // against a reference catalog, the comparison of two productions.
        .target(name: "CatalogAnalysis", dependencies: ["Basics", "Catalog", "Production", "Sky", "Views"]),
        // The command line: argument parsing and printing only.
        .executableTarget(name: "dcprod", dependencies: [
            "Basics", "Production", "Sky", "Planning", "Batch", "Verification", "Catalog", "Campaign", "Pipeline", "Simulation", "Views", "Server", "CatalogAnalysis",
            .product(name: "ArgumentParser", package: "swift-argument-parser"), logging,
            "CatalogExport",
        ]),

        .testTarget(name: "ProductionTests", dependencies: ["Basics", "Production", grdb]),
        .testTarget(name: "SkyTests", dependencies: ["Basics", "Sky", "Simulation", "Planning", "Production", grdb]),
        .testTarget(name: "BatchTests", dependencies: ["Basics", "Batch", "Planning", "Production"]),
        .testTarget(name: "PlanningTests", dependencies: ["Basics", "Planning", "Production", "Sky"]),
        .testTarget(name: "PipelineTests", dependencies: ["Basics", "Pipeline", "Simulation", "Sky"]),
        .testTarget(name: "VerificationTests", dependencies: ["Basics", "Verification", "Planning", "Production"], exclude: ["Fixtures"]),
        .testTarget(name: "CatalogTests", dependencies: ["Basics", "Catalog", "CatalogAnalysis", "Production", "Sky"]),
        .testTarget(name: "CatalogAnalysisTests", dependencies: ["Basics", "CatalogAnalysis"]),
        .testTarget(name: "CatalogExportTests", dependencies: ["Basics", "Catalog", "CatalogAnalysis", "CatalogExport"]),
        .testTarget(name: "ViewsTests", dependencies: ["Views", "Verification"]),
        .testTarget(name: "EndToEndTests", dependencies: ["dcprod", "Basics"], exclude: ["Fixtures"]),
    ]
)
