// Every layer of datapin under one name, for code that uses it as a library.
@_exported import DatapinArchives
@_exported import DatapinExport
@_exported import DatapinLock
@_exported import DatapinResolution
@_exported import DatapinSelection
@_exported import DatapinSpec
@_exported import DatapinSupport
@_exported import DatapinSync
@_exported import DatapinTransfer
