namespace NewLlm.Data;

/// <summary>Typed access to the fields of a <see cref="SourceRow"/>, each defect one message naming the row and the field.</summary>
internal static class RowFields
{
    /// <summary>A string field that must be present and a string.</summary>
    public static string RequiredString(SourceRow row, string field) =>
        OptionalString(row, field) ?? throw new InvalidDataException($"{row.Location}: the row has no '{field}' string ({Describe(row.Fields)}).");

    /// <summary>A string field that may be missing or null (then <see langword="null"/>), but is a string when present.</summary>
    public static string? OptionalString(SourceRow row, string field)
    {
        if (!row.Fields.TryGetPropertyValue(field, out JsonNode? node) || node is null)
        {
            return null;
        }

        return node is JsonValue value && value.GetValueKind() == JsonValueKind.String
            ? value.GetValue<string>()
            : throw new InvalidDataException($"{row.Location}: '{field}' is {Kind(node)}, not a string.");
    }

    /// <summary>An array field that must be present and an array.</summary>
    public static JsonArray RequiredArray(SourceRow row, string field)
    {
        if (!row.Fields.TryGetPropertyValue(field, out JsonNode? node) || node is null)
        {
            throw new InvalidDataException($"{row.Location}: the row has no '{field}' list ({Describe(row.Fields)}).");
        }

        return node as JsonArray ?? throw new InvalidDataException($"{row.Location}: '{field}' is {Kind(node)}, not a list.");
    }

    /// <summary>The JSON kind of a node in words: <c>a number</c>, <c>an object</c>, ...</summary>
    public static string Kind(JsonNode? node) => node?.GetValueKind() switch
    {
        null or JsonValueKind.Null => "null",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        _ => "undefined",
    };

    /// <summary>The row's field names, for messages: <c>fields: id, data</c>.</summary>
    public static string Describe(JsonObject fields) => fields.Count == 0
        ? "it has no fields"
        : "its fields: " + string.Join(", ", fields.Select(p => p.Key).Take(12)) + (fields.Count > 12 ? ", ..." : string.Empty);
}
