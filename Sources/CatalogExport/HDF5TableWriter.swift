import CHDF5

/// An HDF5 file laid out as astropy's `Table.write(path, path="data", serialize_meta=True)` lays one
/// out (`astropy/io/misc/hdf5.py`): a one-dimensional dataset `data` of a packed compound type (one
/// member per column, little-endian; text as NUL-padded fixed-length strings; after each integer
/// column that takes NULL, its mask as h5py stores a bool, an 8-bit enum FALSE/TRUE), and beside
/// it the dataset `data.__table_column_meta__`, the YAML of the columns and the table's meta as
/// fixed-length strings, one line each (`AstropyTableMeta`).
///
/// `data` is chunked and extendable, so that rows are appended a chunk at a time; no compression,
/// which would cost more time than the export's reading of the catalog.
public final class HDF5TableWriter: TableWriter {
    public let layout: RowLayout
    private let path: String
    private let columns: [ExportColumn]
    private let metadata: ExportMetadata
    private var file: hid_t = -1
    private var rowType: hid_t = -1
    private var dataset: hid_t = -1
    private var rowsWritten = 0

    /// Rows per HDF5 chunk: 512 KiB of them, within HDF5's 1 MiB chunk cache.
    private var chunkRows: Int { max(1, (512 << 10) / max(1, layout.rowSize)) }

    /// Creates the file at `path` (replacing one there) and its empty `data` dataset.
    ///
    /// - Throws: `ExportError` naming the file, with HDF5's words.
    public init(path: String, columns: [ExportColumn], metadata: ExportMetadata) throws {
        layout = RowLayout(columns: columns, byteOrder: .little, integerNulls: .mask)
        self.path = path
        self.columns = columns
        self.metadata = metadata
        dcprod_h5e_quiet()
        file = H5Fcreate(path, dcprod_h5f_acc_trunc(), dcprod_h5p_default(), dcprod_h5p_default())
        try check(file, "cannot create the file")
        rowType = try makeRowType()
        var dims: [hsize_t] = [0], maxDims: [hsize_t] = [dcprod_h5s_unlimited()], chunk = [hsize_t(chunkRows)]
        let space = H5Screate_simple(1, &dims, &maxDims)
        defer { H5Sclose(space) }
        let properties = H5Pcreate(dcprod_h5p_dataset_create())
        defer { H5Pclose(properties) }
        try check(H5Pset_chunk(properties, 1, &chunk), "cannot set the chunk size")
        dataset = H5Dcreate2(file, "data", rowType, space, dcprod_h5p_default(), properties, dcprod_h5p_default())
        try check(dataset, "cannot create the dataset data")
    }

    deinit { close() }

    /// The compound type of a row, its members at `layout`'s offsets.
    private func makeRowType() throws -> hid_t {
        let type = H5Tcreate(H5T_COMPOUND, layout.rowSize)
        try check(type, "cannot make the row type")
        for field in layout.fields {
            let member = try memberType(field.column.type)
            defer { H5Tclose(member) }
            try check(H5Tinsert(type, field.column.name, field.offset, member), "cannot add the column \(field.column.name)")
            if let mask = field.maskOffset {
                let bool = try boolType()
                defer { H5Tclose(bool) }
                try check(H5Tinsert(type, field.column.name + ".mask", mask, bool), "cannot add the mask of \(field.column.name)")
            }
        }
        return type
    }

    private func memberType(_ type: ExportColumn.ValueType) throws -> hid_t {
        switch type {
        case .int32: return H5Tcopy(dcprod_h5t_std_i32le())
        case .int64: return H5Tcopy(dcprod_h5t_std_i64le())
        case .double: return H5Tcopy(dcprod_h5t_ieee_f64le())
        case .text(let width): return try stringType(width: width)
        }
    }

    /// A fixed-length ASCII string, NUL-padded: numpy's `S` as h5py stores it.
    private func stringType(width: Int) throws -> hid_t {
        let type = H5Tcopy(dcprod_h5t_c_s1())
        try check(H5Tset_size(type, width), "cannot make a string type of \(width) bytes")
        try check(H5Tset_strpad(type, H5T_STR_NULLPAD), "cannot make a string type")
        return type
    }

    /// numpy's bool as h5py stores it: an enum of 8-bit integers, FALSE = 0 and TRUE = 1.
    private func boolType() throws -> hid_t {
        let type = H5Tenum_create(dcprod_h5t_std_i8le())
        var no: Int8 = 0, yes: Int8 = 1
        try check(H5Tenum_insert(type, "FALSE", &no), "cannot make the bool type")
        try check(H5Tenum_insert(type, "TRUE", &yes), "cannot make the bool type")
        return type
    }

    public func write(rows: UnsafeRawBufferPointer, count: Int) throws {
        guard count > 0, let base = rows.baseAddress else { return }
        var size: [hsize_t] = [hsize_t(rowsWritten + count)]
        try check(H5Dset_extent(dataset, &size), "cannot extend the dataset data to \(rowsWritten + count) rows")
        let fileSpace = H5Dget_space(dataset)
        defer { H5Sclose(fileSpace) }
        var start: [hsize_t] = [hsize_t(rowsWritten)], length: [hsize_t] = [hsize_t(count)]
        try check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &length, nil), "cannot select rows")
        let memorySpace = H5Screate_simple(1, &length, nil)
        defer { H5Sclose(memorySpace) }
        try check(H5Dwrite(dataset, rowType, memorySpace, fileSpace, dcprod_h5p_default(), base), "cannot write rows from \(rowsWritten)")
        rowsWritten += count
    }

    public func finish() throws {
        let lines = AstropyTableMeta(columns: columns, metadata: metadata).lines.map { Array($0.utf8) }
        let width = max(1, lines.map(\.count).max() ?? 1)
        var bytes = [UInt8](repeating: 0, count: width * lines.count)
        for (index, line) in lines.enumerated() { bytes.replaceSubrange(index * width..<index * width + line.count, with: line) }
        let type = try stringType(width: width)
        defer { H5Tclose(type) }
        var dims: [hsize_t] = [hsize_t(lines.count)]
        let space = H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let name = "data.__table_column_meta__"
        let meta = H5Dcreate2(file, name, type, space, dcprod_h5p_default(), dcprod_h5p_default(), dcprod_h5p_default())
        try check(meta, "cannot create the dataset \(name)")
        defer { H5Dclose(meta) }
        try check(H5Dwrite(meta, type, dcprod_h5s_all(), dcprod_h5s_all(), dcprod_h5p_default(), bytes), "cannot write \(name)")
        let closed = close()
        try check(closed, "cannot close the file")
    }

    /// Closes what is open; the file's own close status, which says whether it was all written.
    @discardableResult
    private func close() -> herr_t {
        if dataset >= 0 { H5Dclose(dataset); dataset = -1 }
        if rowType >= 0 { H5Tclose(rowType); rowType = -1 }
        guard file >= 0 else { return 0 }
        defer { file = -1 }
        return H5Fclose(file)
    }

    /// Throws HDF5's innermost error, naming the file, when `result` is negative (HDF5's failure).
    private func check<T: BinaryInteger>(_ result: T, _ context: String) throws {
        guard result < 0 else { return }
        var text = [CChar](repeating: 0, count: 512)
        dcprod_h5e_message(&text, text.count)
        let detail = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw ExportError("\(path): \(context)\(detail.isEmpty ? "" : ": \(detail)") (HDF5)")
    }
}
