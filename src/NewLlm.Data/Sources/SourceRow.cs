namespace NewLlm.Data;

/// <summary>
/// One row of a data file, whatever the file's format, as JSON: a JSON Lines object as it is; a Parquet or Arrow row as
/// an object of its columns (strings as strings, lists as arrays, structs as objects, nulls as <see langword="null"/>).
/// A <see cref="DialogueFormat"/> turns it into text.
/// </summary>
internal readonly record struct SourceRow(JsonObject Fields, RowLocation Location);
