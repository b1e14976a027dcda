namespace NewLlm.Data;

/// <summary>
/// Reads an HH-RLHF JSON Lines file (gzipped or plain) strictly, through the one JSON Lines reader of the sources
/// (<see cref="JsonLinesSource"/>): any defect is an <see cref="InvalidDataException"/> naming the file and line.
/// </summary>
internal static class JsonLinesRowReader
{
    /// <summary>The result of reading one file.</summary>
    /// <param name="Rows">The rows, in file order.</param>
    /// <param name="Sha256">The sha256 (lower-case hex) of the file's bytes as stored.</param>
    internal sealed record Result(List<HhRlhfRow> Rows, string Sha256);

    /// <summary>Reads and validates a whole file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The rows and the file's checksum.</returns>
    public static async Task<Result> ReadAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"HH-RLHF file not found: '{path}'.", path);
        }

        var rows = new List<HhRlhfRow>();
        await foreach (var row in JsonLinesSource.ReadAsync(path, RowLimit.Default, cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new HhRlhfRow(RowFields.RequiredString(row, "chosen"), RowFields.RequiredString(row, "rejected")));
        }

        string sha256 = await SourceFiles.Sha256Async(path, cancellationToken).ConfigureAwait(false);
        return new Result(rows, sha256);
    }
}
