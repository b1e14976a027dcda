namespace NewLlm.Data;

/// <summary>
/// Dolly-15k rows (<c>instruction</c>, <c>context</c>, <c>response</c>) as the original's <c>DollyDataset</c> formats them:
/// <c>Instruction: {instruction}</c>, then <c>Context: {context}</c> only when the context is not blank, then
/// <c>Response: {response}</c>, joined with single spaces (and, here, the whitespace normalised, which the word-level
/// tokenizer does not see). The vocabulary text is the original's too: the same parts joined without the three prefixes,
/// so with the original's vocabulary the prefixes are usually <c>&lt;UNK&gt;</c>.
/// </summary>
public sealed class DollyFormat : DialogueFormat
{
    /// <summary>The one instance.</summary>
    public static DollyFormat Instance { get; } = new();

    private DollyFormat()
    {
    }

    /// <inheritdoc />
    public override string Description => "Dolly (instruction, context, response)";

    internal override IReadOnlyList<string> Fields => ["instruction", "context", "response"];

    internal override DialogueText? Read(SourceRow row)
    {
        string instruction = RowFields.RequiredString(row, "instruction");
        string context = RowFields.OptionalString(row, "context") ?? string.Empty; // the original: example.get('context', '')
        string response = RowFields.RequiredString(row, "response");
        bool hasContext = !context.All(PythonText.IsWhiteSpace);
        string text = hasContext
            ? $"Instruction: {instruction} Context: {context} Response: {response}"
            : $"Instruction: {instruction} Response: {response}";
        string vocabulary = hasContext ? $"{instruction} {context} {response}" : $"{instruction} {response}";
        return new DialogueText(PythonText.NormalizeWhitespace(text), vocabulary);
    }
}
