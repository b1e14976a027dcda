namespace NewLlm.Data;

/// <summary>
/// Where a row of a data file is, for error messages: a JSON Lines file and its 1-based line, a Parquet file with its
/// row group and the row in it (both 0-based, as pyarrow's <c>read_row_group</c> counts them), or an Arrow file and the
/// 0-based row of the file (as <c>dataset[i]</c> counts them).
/// </summary>
/// <param name="File">The file.</param>
/// <param name="Line">The 1-based line (JSON Lines), or -1.</param>
/// <param name="RowGroup">The 0-based row group (Parquet), or -1.</param>
/// <param name="Row">The 0-based row: in the row group (Parquet) or in the file (Arrow); -1 for JSON Lines.</param>
internal readonly record struct RowLocation(string File, long Line, int RowGroup = -1, long Row = -1)
{
    public static RowLocation AtLine(string file, long line) => new(file, line);

    public static RowLocation InRowGroup(string file, int rowGroup, long row) => new(file, -1, rowGroup, row);

    public static RowLocation AtRow(string file, long row) => new(file, -1, -1, row);

    /// <summary><c>'file' line 12</c>, <c>'file' row group 2, row 17</c> or <c>'file' row 40</c>.</summary>
    public override string ToString() => Line >= 0
        ? string.Create(CultureInfo.InvariantCulture, $"'{File}' line {Line}")
        : RowGroup >= 0
            ? string.Create(CultureInfo.InvariantCulture, $"'{File}' row group {RowGroup}, row {Row}")
            : string.Create(CultureInfo.InvariantCulture, $"'{File}' row {Row}");
}
