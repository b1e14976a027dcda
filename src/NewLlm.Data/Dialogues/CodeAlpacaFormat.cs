namespace NewLlm.Data;

/// <summary>
/// CodeAlpaca-20k rows (<c>instruction</c>, <c>input</c>, <c>output</c>) in the Alpaca style with labels, as
/// <see cref="DollyFormat"/> labels Dolly's: <c>Instruction: {instruction}</c>, then <c>Input: {input}</c> only when the
/// input is not blank, then <c>Response: {output}</c>, one part a line. The text is <b>not</b> whitespace-normalised, so
/// code keeps its newlines and indentation for a tokenizer that keeps them (GPT-2); the word-level tokenizer splits on
/// whitespace and drops them (code becomes a stream of words). The vocabulary text is the training text.
/// </summary>
public sealed class CodeAlpacaFormat : DialogueFormat
{
    /// <summary>The one instance.</summary>
    public static CodeAlpacaFormat Instance { get; } = new();

    private CodeAlpacaFormat()
    {
    }

    /// <inheritdoc />
    public override string Description => "CodeAlpaca (instruction, input, output; whitespace kept)";

    internal override IReadOnlyList<string> Fields => ["instruction", "input", "output"];

    internal override DialogueText? Read(SourceRow row)
    {
        string instruction = RowFields.RequiredString(row, "instruction");
        string input = RowFields.OptionalString(row, "input") ?? string.Empty;
        string output = RowFields.RequiredString(row, "output");
        string text = input.All(PythonText.IsWhiteSpace)
            ? $"Instruction: {instruction}\nResponse: {output}"
            : $"Instruction: {instruction}\nInput: {input}\nResponse: {output}";
        return new DialogueText(text, text);
    }
}
