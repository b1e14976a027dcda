namespace NewLlm.Data;

/// <summary>Rows with the whole dialogue in one string field (for example <c>text</c>), whitespace-normalised.</summary>
/// <param name="field">The field.</param>
public sealed class TextFieldFormat(string field = "text") : DialogueFormat
{
    /// <summary>The field.</summary>
    public string Field { get; } = NotBlank(field);

    /// <inheritdoc />
    public override string Description => $"text ('{Field}')";

    internal override IReadOnlyList<string> Fields => [Field];

    internal override DialogueText? Read(SourceRow row) => Normalized(RowFields.RequiredString(row, Field));
}
