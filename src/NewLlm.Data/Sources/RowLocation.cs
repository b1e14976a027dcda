namespace NewLlm.Data;

/// <summary>
/// Where a row of a data file is, for error messages: a JSON Lines file and its 1-based line, a Parquet file with its
/// row group and the row in it (both 0-based, as pyarrow's <c>read_row_group</c> counts them), an Arrow file and the
/// 0-based row of the file (as <c>dataset[i]</c> counts them), a JSON array's 0-based element and the byte offset where
/// it starts, or a whole file that is one row (a zip entry: <paramref name="Entry"/>); -1 where a number does not apply.
/// </summary>
internal readonly record struct RowLocation(string File, long Line, int RowGroup = -1, long Row = -1, long Offset = -1, string? Entry = null)
{
    public static RowLocation AtLine(string file, long line) => new(file, line);

    public static RowLocation InRowGroup(string file, int rowGroup, long row) => new(file, -1, rowGroup, row);

    public static RowLocation AtRow(string file, long row) => new(file, -1, -1, row);

    public static RowLocation AtElement(string file, long element, long offset) => new(file, -1, -1, element, offset);

    public static RowLocation WholeFile(string file, string? entry = null) => new(file, -1, Entry: entry);

    /// <summary><c>'file' line 12</c>, <c>'file' row group 2, row 17</c>, <c>'file' row 40</c>, <c>'file' element 3 at byte 512</c>, <c>'file'</c> or <c>'zip' entry 'MATH/train/x/1.json'</c>.</summary>
    public override string ToString() => Line >= 0
        ? string.Create(CultureInfo.InvariantCulture, $"'{File}' line {Line}")
        : RowGroup >= 0
            ? string.Create(CultureInfo.InvariantCulture, $"'{File}' row group {RowGroup}, row {Row}")
            : Offset >= 0
                ? string.Create(CultureInfo.InvariantCulture, $"'{File}' element {Row} at byte {Offset}")
                : Row >= 0
                    ? string.Create(CultureInfo.InvariantCulture, $"'{File}' row {Row}")
                    : Entry is null ? $"'{File}'" : $"'{File}' entry '{Entry}'";
}
