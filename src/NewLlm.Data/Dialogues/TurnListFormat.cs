namespace NewLlm.Data;

/// <summary>
/// Rows holding a dialogue as a list of turns, like UltraChat (<c>{"id": ..., "data": ["turn 1", "turn 2", ...]}</c>), as
/// the original's <c>UltraChatDataset</c> reads them: the turns (strings, or objects with a <c>content</c> or <c>text</c>
/// string) joined with single spaces, no role labels, whitespace collapsed; a row without turns is skipped, as the
/// original skips it.
/// </summary>
/// <param name="field">The field of the list of turns (UltraChat: <c>data</c>).</param>
public sealed class TurnListFormat(string field = "data") : DialogueFormat
{
    /// <summary>The field of the list of turns.</summary>
    public string Field { get; } = NotBlank(field);

    /// <inheritdoc />
    public override string Description => $"a list of turns ('{Field}'), joined without role labels";

    internal override IReadOnlyList<string> Fields => [Field];

    internal override DialogueText? Read(SourceRow row) => JoinedTurns(RowFields.RequiredArray(row, Field).Select((turn, index) => turn switch
    {
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        JsonObject item => ContentOf(item),
        _ => null,
    } ?? throw new InvalidDataException(
        $"{row.Location}: turn {index} of '{Field}' is {RowFields.Kind(turn)}; a turn is a string or an object with a 'content' or 'text' string.")));

    private static string? ContentOf(JsonObject turn)
    {
        foreach (string key in (ReadOnlySpan<string>)["content", "text"])
        {
            if (turn.TryGetPropertyValue(key, out JsonNode? node))
            {
                return node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
            }
        }

        return null;
    }
}
