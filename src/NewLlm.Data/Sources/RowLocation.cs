namespace NewLlm.Data;

/// <summary>
/// Where a row of a data file is, for error messages: a JSON Lines file and its 1-based line, a Parquet file with its
/// row group and the row in it (both 0-based, as pyarrow's <c>read_row_group</c> counts them), or an Arrow file and the
/// 0-based row of the file (as <c>dataset[i]</c> counts them); -1 where a number does not apply.
/// </summary>
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
