using System.Runtime.CompilerServices;

namespace NewLlm.Data;

/// <summary>
/// Streams the rows of a JSON Lines file (plain, or gzip: a file that starts with the gzip magic bytes, which a name
/// ending in <c>.gz</c> must) in bounded memory, one <see cref="SourceRow"/> per non-blank line; every defect is an
/// <see cref="InvalidDataException"/> naming the file and the 1-based line. A line longer than the <see cref="RowLimit"/>
/// is refused while it is scanned (counting too), never held whole.
/// </summary>
internal static class JsonLinesSource
{
    /// <summary>Streams the rows of the file with their 0-based index; rows <paramref name="include"/> refuses are not parsed.</summary>
    public static async IAsyncEnumerable<(long Index, SourceRow Row)> ReadIndexedAsync(string path, Func<long, bool>? include, RowLimit limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long index = -1;
        using Stream text = Open(path);
        var scanner = new LineScanner(text, path, limit);
        while (await ReadLineAsync(scanner, path, cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (LineScanner.IsBlank(line.Span))
            {
                continue;
            }

            index++;
            if (include is null || include(index))
            {
                yield return (index, new SourceRow(JsonRow.Parse(line.Span, RowLocation.AtLine(path, scanner.LineNumber).ToString()), RowLocation.AtLine(path, scanner.LineNumber)));
            }
        }

        if (index < 0)
        {
            throw new InvalidDataException($"'{path}' holds no rows (the file is blank).");
        }
    }

    /// <summary>Opens the file's text: decompressed when it is gzip.</summary>
    private static Stream Open(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);
        try
        {
            Span<byte> magic = stackalloc byte[2];
            int read = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
            file.Position = 0;
            if (read == 0)
            {
                throw new InvalidDataException($"'{path}' is empty (0 bytes); it holds no rows.");
            }

            bool isGzip = read == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
            if (!isGzip && path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException($"'{path}' is not a gzip file (it does not start with the gzip magic bytes 1f 8b).");
            }

            return isGzip ? new CheckedGzipInputStream(file, path) : file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static async ValueTask<ReadOnlyMemory<byte>?> ReadLineAsync(LineScanner scanner, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await scanner.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e) when (!e.Message.Contains(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"'{path}' near line {scanner.LineNumber + 1}: {e.Message}", e);
        }
    }
}
