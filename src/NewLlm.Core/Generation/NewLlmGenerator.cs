using Microsoft.ML.Tokenizers;

namespace NewLlm;

/// <summary>
/// Streams tokens from a <see cref="NewLlmModel"/>, with its inference function (no dropout, no gradient) whatever the
/// module's mode, which it leaves as it is. Memory per token is constant: only the context vector is carried. It is the
/// <see cref="IncrementalGenerator"/> of a New-LLM (every method is that generator's), kept as New-LLM's entry point.
/// </summary>
/// <param name="model">The model to generate with.</param>
public sealed class NewLlmGenerator(NewLlmModel model)
{
    private readonly IncrementalGenerator _generator = new(model ?? throw new ArgumentNullException(nameof(model)));

    /// <inheritdoc cref="IncrementalGenerator.Generate"/>
    public IEnumerable<int> Generate(IReadOnlyList<int> prompt, GenerationOptions options, GenerationSession? state = null, CancellationToken cancellationToken = default) =>
        _generator.Generate(prompt, options, state, cancellationToken);

    /// <inheritdoc cref="IncrementalGenerator.StreamText"/>
    public IEnumerable<string> StreamText(Tokenizer tokenizer, string prompt, GenerationOptions options, GenerationSession? state = null, CancellationToken cancellationToken = default) =>
        _generator.StreamText(tokenizer, prompt, options, state, cancellationToken);

    /// <inheritdoc cref="IncrementalGenerator.StreamTextAsync"/>
    public IAsyncEnumerable<string> StreamTextAsync(Tokenizer tokenizer, string prompt, GenerationOptions options, GenerationSession? state = null, CancellationToken cancellationToken = default) =>
        _generator.StreamTextAsync(tokenizer, prompt, options, state, cancellationToken);

    /// <inheritdoc cref="IncrementalGenerator.GenerateText"/>
    public string GenerateText(Tokenizer tokenizer, string prompt, GenerationOptions options, GenerationSession? state = null, CancellationToken cancellationToken = default) =>
        _generator.GenerateText(tokenizer, prompt, options, state, cancellationToken);

    /// <inheritdoc cref="IncrementalGenerator.DecodeByWords"/>
    public static IEnumerable<string> DecodeByWords(Tokenizer tokenizer, IEnumerable<int> tokens) => IncrementalGenerator.DecodeByWords(tokenizer, tokens);
}
