using System.Runtime.CompilerServices;

namespace NewLlm.Data;

/// <summary>
/// Reads a data file of any format the sources know, by its name: <c>.parquet</c> (Parquet.Net), <c>.arrow</c> (Arrow IPC
/// stream, as <c>save_to_disk</c> writes it), <c>.json</c> (one JSON array), a folder of one-object JSON files on disk or
/// in a zip (<see cref="JsonFileTree"/>), anything else JSON Lines (plain or gzip).
/// </summary>
internal static class SourceFiles
{
    /// <summary>The number of rows of a file.</summary>
    public static Task<long> CountRowsAsync(string path, RowLimit limit, CancellationToken cancellationToken) =>
        IsParquet(path) ? ParquetRowReader.CountRowsAsync(path, cancellationToken)
        : IsArrow(path) ? ArrowRowReader.CountRowsAsync(path, cancellationToken)
        : JsonFileTree.IsTree(path) ? JsonFileTree.CountRowsAsync(path, limit, cancellationToken)
        : IsJsonArray(path) ? CountUnbuiltAsync(include => JsonArraySource.ReadIndexedAsync(path, include, limit, cancellationToken))
        : CountUnbuiltAsync(include => JsonLinesSource.ReadIndexedAsync(path, include, limit, cancellationToken));

    // Counts a text file's rows by reading it whole with a filter that refuses every row, so that none is parsed into JSON.
    private static async Task<long> CountUnbuiltAsync(Func<Func<long, bool>, IAsyncEnumerable<(long Index, SourceRow Row)>> read)
    {
        long rows = 0;
        bool CountOnly(long index)
        {
            rows = index + 1;
            return false;
        }

        await foreach (var _ in read(CountOnly).ConfigureAwait(false))
        {
        }

        return rows;
    }

    /// <summary>The number of rows of a file that a format keeps (all, unless it filters rows: then each row is read).</summary>
    public static async Task<long> CountRowsAsync(string path, DialogueFormat format, RowLimit limit, CancellationToken cancellationToken) => format.FiltersRows
        ? await ReadIndexedAsync(path, format, null, limit, cancellationToken).CountAsync(cancellationToken).ConfigureAwait(false)
        : await CountRowsAsync(path, limit, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Streams the rows of a file that a format keeps, numbered among those kept; only those <paramref name="include"/>
    /// accepts. A format that filters rows has every row read to number them.
    /// </summary>
    public static async IAsyncEnumerable<(long Index, SourceRow Row)> ReadIndexedAsync(
        string path, DialogueFormat format, Func<long, bool>? include, RowLimit limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long kept = 0;
        var rows = ReadIndexedAsync(path, format.Fields, format.FiltersRows ? null : include, limit, cancellationToken);
        await foreach (var (index, row) in rows.ConfigureAwait(false))
        {
            if (!format.FiltersRows)
            {
                yield return (index, row);
            }
            else if (format.Keeps(row) && (include is null || include(kept++)))
            {
                yield return (kept - 1, row);
            }
        }
    }

    /// <summary>Streams the rows of a file with the fields a format reads.</summary>
    public static IAsyncEnumerable<SourceRow> ReadAsync(string path, IReadOnlyList<string> fields, RowLimit limit, CancellationToken cancellationToken) =>
        ReadIndexedAsync(path, fields, null, limit, cancellationToken).Select(r => r.Row);

    /// <summary>Streams the rows of a file with their 0-based index, only those <paramref name="include"/> accepts (JSON Lines rows left out are not parsed).</summary>
    public static async IAsyncEnumerable<(long Index, SourceRow Row)> ReadIndexedAsync(
        string path, IReadOnlyList<string> fields, Func<long, bool>? include, RowLimit limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!IsParquet(path) && !IsArrow(path))
        {
            var text = JsonFileTree.IsTree(path) ? JsonFileTree.ReadIndexedAsync(path, include, limit, cancellationToken)
                : IsJsonArray(path) ? JsonArraySource.ReadIndexedAsync(path, include, limit, cancellationToken)
                : JsonLinesSource.ReadIndexedAsync(path, include, limit, cancellationToken);
            await foreach (var row in text.ConfigureAwait(false))
            {
                yield return row;
            }

            yield break;
        }

        long index = 0;
        var rows = IsParquet(path) ? ParquetRowReader.ReadAsync(path, fields, limit, cancellationToken) : ArrowRowReader.ReadAsync(path, fields, limit, cancellationToken);
        await foreach (var row in rows.ConfigureAwait(false))
        {
            if (include is null || include(index))
            {
                yield return (index, row);
            }

            index++;
        }
    }

    /// <summary>The SHA-256 (lower-case hex) of a file's bytes as stored (of a folder of JSON files: <see cref="JsonFileTree.Sha256Async"/>).</summary>
    public static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        if (JsonFileTree.IsTree(path))
        {
            return await JsonFileTree.Sha256Async(path, cancellationToken).ConfigureAwait(false);
        }

        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The fingerprint of files taken whole, in load order: one file's SHA-256, else the SHA-256 of their SHA-256s, one a line.</summary>
    public static string Fingerprint(IReadOnlyList<string> sha256s) => sha256s.Count == 1
        ? sha256s[0]
        : Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(string.Join("\n", sha256s))));

    private static bool IsParquet(string path) => path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase);

    private static bool IsJsonArray(string path) => path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);

    private static bool IsArrow(string path) => path.EndsWith(".arrow", StringComparison.OrdinalIgnoreCase);
}
