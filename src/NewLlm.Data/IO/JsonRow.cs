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
            throw new InvalidDataException($"{where}: malformed JSON ({e.Message}).", e);
        }

        return node as JsonObject ?? throw new InvalidDataException($"{where}: expected a JSON object, found {RowFields.Kind(node)}.");
    }
}
