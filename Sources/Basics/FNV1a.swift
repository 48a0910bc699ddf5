/// FNV-1a 64 of bytes, as 16 lowercase hex digits: how the catalog's ledger names a file (its path's
/// hash) and tells a changed one (its bytes'), and how provenance names a text it keeps once.
public func fnv1a(_ bytes: UnsafeRawBufferPointer) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

/// FNV-1a 64 of a text's UTF-8 bytes, as 16 lowercase hex digits.
public func fnv1a(_ text: String) -> String {
    var text = text
    return text.withUTF8 { fnv1a(UnsafeRawBufferPointer($0)) }
}
