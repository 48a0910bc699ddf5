/// dcprod's version: what `dcprod --version` prints, what the catalog's provenance and an export's
/// header record. Raised with each issue resolved (CHANGES.md names them).
public enum DCProdVersion {
    public static let current = "0.39.0"
}
