namespace NewLlm.Data;

/// <summary>Rows with the whole dialogue in one string field (for example <c>text</c>), whitespace-normalised.</summary>
public sealed class TextFieldFormat : DialogueFormat
{
    /// <summary>Creates the format.</summary>
    /// <param name="field">The field.</param>
    public TextFieldFormat(string field = "text")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(field);
        Field = field;
    }

    /// <summary>The field.</summary>
    public string Field { get; }

    /// <inheritdoc />
    public override string Description => $"text ('{Field}')";

    internal override IReadOnlyList<string> Fields => [Field];

    internal override DialogueText? Read(SourceRow row)
    {
        string text = PythonText.NormalizeWhitespace(RowFields.RequiredString(row, Field));
        return new DialogueText(text, text);
    }
}
