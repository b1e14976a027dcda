namespace NewLlm.Data;

/// <summary>
/// One row held as UTF-8 JSON bytes (a JSON Lines line, a JSON array's element, a file of one object) parsed into its
/// object; every defect an <see cref="InvalidDataException"/> that starts with where the row is.
/// </summary>
internal static class JsonRow
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The row's object.</summary>
    /// <param name="json">The row's bytes.</param>
    /// <param name="where">Where the row is, for messages (<c>'file' line 3</c>).</param>
    public static JsonObject Parse(ReadOnlySpan<byte> json, string where)
    {
        try
        {
            // Validate the encoding first so that invalid UTF-8 is reported as such, not as a JSON syntax error.
            StrictUtf8.GetCharCount(json);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"{where}: invalid UTF-8 ({e.Message}).", e);
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where}: {Reason(e)}.", e);
        }

        return node as JsonObject ?? throw new InvalidDataException($"{where}: expected a JSON object, found {RowFields.Kind(node)}.");
    }

    /// <summary>
    /// A <see cref="JsonException"/>'s reason in words, without the reader's <c>LineNumber: 0 | BytePositionInLine: 1365</c>
    /// (the caller's prefix says where): <c>malformed JSON: the JSON ends inside an element …</c> for JSON cut short, else
    /// <c>malformed JSON: {the reader's sentence}</c>.
    /// </summary>
    public static string Reason(JsonException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        string message = e.Message;
        foreach (string tail in (string[])[" LineNumber:", " Path:"])
        {
            int cut = message.IndexOf(tail, StringComparison.Ordinal);
            message = cut >= 0 ? message[..cut] : message;
        }

        message = message.Trim().TrimEnd('.');
        return message.Contains("end of data", StringComparison.Ordinal) || message.Contains("end of the JSON payload", StringComparison.Ordinal)
            ? "malformed JSON: the JSON ends inside an element (an object, list or string is not closed; the file may be truncated)"
            : message.Contains("does not contain any JSON tokens", StringComparison.Ordinal)
                ? "malformed JSON: there is no JSON value, only whitespace"
                : $"malformed JSON: {message}";
    }
}
