using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace NewLlm.Data;

/// <summary>Reads an HH-RLHF JSON Lines file (gzipped or plain) strictly: any defect is an <see cref="InvalidDataException"/>.</summary>
internal static class JsonLinesRowReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

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

        byte[] stored = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        string sha256 = Convert.ToHexStringLower(SHA256.HashData(stored));
        cancellationToken.ThrowIfCancellationRequested();
        return new Result(Parse(stored, path), sha256);
    }

    /// <summary>Parses the bytes of a file (decompressing when they are gzip).</summary>
    /// <param name="stored">The file's bytes.</param>
    /// <param name="path">The file name for messages; a name ending in <c>.gz</c> must hold gzip data.</param>
    /// <returns>The rows.</returns>
    public static List<HhRlhfRow> Parse(byte[] stored, string path)
    {
        if (stored.Length == 0)
        {
            throw new InvalidDataException($"'{path}' is empty (0 bytes); it holds no rows.");
        }

        bool isGzip = stored.Length >= 2 && stored[0] == 0x1f && stored[1] == 0x8b;
        if (!isGzip && path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"'{path}' is not a gzip file (it does not start with the gzip magic bytes 1f 8b).");
        }

        byte[] text = isGzip ? GzipMembers.Decompress(stored, path) : stored;
        var rows = new List<HhRlhfRow>();
        int lineNumber = 0;
        int start = 0;
        while (start < text.Length)
        {
            int newline = Array.IndexOf(text, (byte)'\n', start);
            int end = newline < 0 ? text.Length : newline;
            lineNumber++;
            var line = new ReadOnlySpan<byte>(text, start, end - start);
            start = end + 1;
            if (IsBlank(line))
            {
                continue;
            }

            rows.Add(ParseLine(line, path, lineNumber));
        }

        if (rows.Count == 0)
        {
            throw new InvalidDataException($"'{path}' holds no rows (the file is empty or blank).");
        }

        return rows;
    }

    private static bool IsBlank(ReadOnlySpan<byte> line)
    {
        foreach (byte b in line)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\f' or (byte)'\v'))
            {
                return false;
            }
        }

        return true;
    }

    private static HhRlhfRow ParseLine(ReadOnlySpan<byte> line, string path, int lineNumber)
    {
        try
        {
            // Validate the encoding first so that invalid UTF-8 is reported as such, not as a JSON syntax error.
            StrictUtf8.GetCharCount(line);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"'{path}' line {lineNumber}: invalid UTF-8 ({e.Message}).", e);
        }

        string? chosen = null;
        string? rejected = null;
        try
        {
            var reader = new Utf8JsonReader(line, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidDataException($"'{path}' line {lineNumber}: expected a JSON object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isChosen = reader.ValueTextEquals("chosen"u8);
                bool isRejected = !isChosen && reader.ValueTextEquals("rejected"u8);
                reader.Read();
                if (isChosen || isRejected)
                {
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw new InvalidDataException(
                            $"'{path}' line {lineNumber}: '{(isChosen ? "chosen" : "rejected")}' is {reader.TokenType}, not a string.");
                    }

                    if (isChosen)
                    {
                        chosen = reader.GetString();
                    }
                    else
                    {
                        rejected = reader.GetString();
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                throw new InvalidDataException($"'{path}' line {lineNumber}: malformed JSON object.");
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' line {lineNumber}: malformed JSON ({e.Message}).", e);
        }

        if (chosen is null)
        {
            throw new InvalidDataException($"'{path}' line {lineNumber}: the object has no 'chosen' string.");
        }

        if (rejected is null)
        {
            throw new InvalidDataException($"'{path}' line {lineNumber}: the object has no 'rejected' string.");
        }

        return new HhRlhfRow(chosen, rejected);
    }
}
