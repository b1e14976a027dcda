namespace NewLlm.Data;

/// <summary>
/// Rows in the chat format most fine-tuning sets use: a list of <c>{"role": ..., "content": ...}</c> messages. With role
/// labels (the default) the text shows who speaks, <c>User: … Assistant: …</c> (roles <c>user</c>, <c>assistant</c>,
/// <c>system</c> get those labels; another role is written as it is, capitalised); without them the contents are
/// joined as the original joins UltraChat's turns. The whitespace is normalised.
/// </summary>
/// <param name="field">The field of the message list.</param>
/// <param name="includeRoles">Whether each message is preceded by its role's label.</param>
public sealed class ChatMessagesFormat(string field = "messages", bool includeRoles = true) : DialogueFormat
{
    /// <summary>The field of the message list.</summary>
    public string Field { get; } = NotBlank(field);

    /// <summary>Whether each message is preceded by its role's label (<c>User:</c>, <c>Assistant:</c>).</summary>
    public bool IncludeRoles { get; } = includeRoles;

    /// <inheritdoc />
    public override string Description => $"chat messages ('{Field}': role, content){(IncludeRoles ? " with role labels" : ", contents only")}";

    /// <summary>The label a role is written with: <c>User</c>, <c>Assistant</c>, <c>System</c>, or the role capitalised.</summary>
    /// <param name="role">The role.</param>
    /// <returns>The label.</returns>
    public static string GetRoleLabel(string role)
    {
        ArgumentNullException.ThrowIfNull(role);
        string trimmed = role.Trim();
        return trimmed.ToLowerInvariant() switch
        {
            "user" or "human" => "User",
            "assistant" or "gpt" or "bot" => "Assistant",
            "system" => "System",
            "" => "Unknown",
            _ => char.ToUpperInvariant(trimmed[0]) + trimmed[1..],
        };
    }

    internal override IReadOnlyList<string> Fields => [Field];

    internal override DialogueText? Read(SourceRow row) => JoinedTurns(RowFields.RequiredArray(row, Field).Select((node, index) =>
    {
        if (node is not JsonObject message)
        {
            throw new InvalidDataException($"{row.Location}: message {index} of '{Field}' is {RowFields.Kind(node)}, not an object with 'role' and 'content'.");
        }

        var inner = new SourceRow(message, row.Location);
        string content = RowFields.OptionalString(inner, "content")
            ?? throw new InvalidDataException($"{row.Location}: message {index} of '{Field}' has no 'content' string ({RowFields.Describe(message)}).");
        if (!IncludeRoles)
        {
            return content;
        }

        string role = RowFields.OptionalString(inner, "role")
            ?? throw new InvalidDataException($"{row.Location}: message {index} of '{Field}' has no 'role' string ({RowFields.Describe(message)}).");
        return $"{GetRoleLabel(role)}: {content}";
    }));
}
