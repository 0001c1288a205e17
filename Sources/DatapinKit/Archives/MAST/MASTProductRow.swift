import Foundation

/// One row of a Mission Search `post_list_products` answer, as MAST lists it.
struct MissionProductRow: Sendable, Hashable {
    var dataset: String
    var filename: String
    /// The row's `uri` (`<dataset>/<filename>`): what `retrieve_product?product_name=` takes.
    var productName: String
    var size: Int64?
    /// `PUBLIC` or `EXCLUSIVE_ACCESS`.
    var access: String?
    /// The product level for JWST and Roman (`1b` `2a` `2b` `2c` `3`), a category for HST (`CALIBRATED`).
    var category: String?
    /// `SHF` (HST) or `_cal` (JWST).
    var fileSuffix: String?
    /// `science`, `exposure`, `auxiliary`, `preview`, `info`, `reference`, `association`.
    var type: String?
    var instrument: String?
    var filters: String?

    /// Reads one row; the dataset falls back to the part of `uri` before its `/`, and the
    /// product name to the file name when the row has no `uri` (as astroquery does).
    init(_ row: MASTJSONObject) throws(MASTShapeError) {
        filename = try row.requiredString("filename")
        let uri = try row.string("uri")?.trimmingCharacters(in: .whitespacesAndNewlines)
        productName = uri.flatMap { $0.isEmpty ? nil : $0 } ?? filename
        if let dataset = try row.string("dataset")?.trimmingCharacters(in: .whitespaces), !dataset.isEmpty {
            self.dataset = dataset
        } else if let uri, let slash = uri.firstIndex(of: "/"), slash != uri.startIndex {
            dataset = String(uri[..<slash])
        } else {
            throw MASTShapeError(reason: "\(row.path).dataset is missing")
        }
        size = try row.integer("size")
        access = try row.string("access")
        category = try row.string("category")
        fileSuffix = try row.string("file_suffix")
        type = try row.string("type")
        instrument = try row.string("instrument_name")
        filters = try row.string("filters")
    }
}

/// One row of a Portal `Mast.Caom.Products` answer. Older answers lack `dataRights`,
/// `calib_level`, `filters` and `proposal_id`; those are then nil.
struct PortalProductRow: Sendable, Hashable {
    var obsID: String?
    var parentObsID: String?
    /// `obs_collection`: `HST`, `JWST`, `TESS`…
    var collection: String?
    /// `obs_id`: the dataset a file belongs to in MAST's nested layout.
    var observation: String
    /// `dataURI`: `mast:HST/product/u9o40504m_c3m.fits`.
    var dataURI: String
    var filename: String
    var size: Int64?
    /// `SCIENCE`, `AUXILIARY`, `PREVIEW`, `INFO`.
    var productType: String?
    /// `Minimum Recommended Products` or nil.
    var groupDescription: String?
    /// The suffix: `DRZ`, `UNCAL`, `GS-FG`.
    var subGroupDescription: String?
    var dataRights: String?
    var calibrationLevel: Int64?
    var instrument: String?
    var filters: String?

    init(_ row: MASTJSONObject) throws(MASTShapeError) {
        obsID = try row.string("obsID")
        parentObsID = try row.string("parent_obsid")
        collection = try row.string("obs_collection")
        observation = try row.requiredString("obs_id")
        dataURI = try row.requiredString("dataURI")
        if let name = try row.string("productFilename")?.trimmingCharacters(in: .whitespaces), !name.isEmpty {
            filename = name
        } else if let last = dataURI.split(separator: "/").last {
            filename = String(last)
        } else {
            throw MASTShapeError(reason: "\(row.path).productFilename is missing")
        }
        size = try row.integer("size")
        productType = try row.string("productType")
        groupDescription = try row.string("productGroupDescription")
        subGroupDescription = try row.string("productSubGroupDescription")
        dataRights = try row.string("dataRights")
        calibrationLevel = try row.integer("calib_level")
        instrument = try row.string("instrument_name")
        filters = try row.string("filters")
    }
}
