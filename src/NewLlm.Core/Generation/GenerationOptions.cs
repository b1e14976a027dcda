using Microsoft.Extensions.Options;

namespace NewLlm;

/// <summary>How <see cref="IncrementalGenerator"/> and <see cref="NewLlmGenerator"/> pick tokens. Validated by <see cref="GenerationOptionsValidator"/>.</summary>
public sealed class GenerationOptions
{
    /// <summary>Most tokens to generate (default 128).</summary>
    public int MaxNewTokens { get; set; } = 128;

    /// <summary>Always take the most likely token (default false: sample).</summary>
    public bool Greedy { get; set; }

    /// <summary>Softmax temperature, &gt; 0 (default 1). Lower is more conservative.</summary>
    public double Temperature { get; set; } = 1.0;

    /// <summary>Sample only among the K most likely tokens; 0 turns it off (default 0).</summary>
    public int TopK { get; set; }

    /// <summary>Sample only among the smallest set of tokens whose probability reaches P, in (0, 1]; 1 turns it off (default 1).</summary>
    public double TopP { get; set; } = 1.0;

    /// <summary>Seed of the sampler; the same seed, prompt and model give the same tokens. Random when null.</summary>
    public int? Seed { get; set; }

    /// <summary>Token sequences that end generation, not part of the output; tokens that might begin one are held back until it is clear they do not.</summary>
    public IList<int[]> StopSequences { get; } = new List<int[]>();

    /// <summary>
    /// Whether generation ends at the end-of-sequence token (default true), not part of the output (the session has read
    /// it): <see cref="EndOfSequenceId"/>, or when that is null the tokenizer's own for the text methods
    /// (<c>&lt;eos&gt;</c>, <c>&lt;/s&gt;</c>, <c>&lt;|endoftext|&gt;</c>) and none for <see cref="IncrementalGenerator.Generate"/>.
    /// </summary>
    public bool StopAtEndOfSequence { get; set; } = true;

    /// <summary>The end-of-sequence id (a NewLlm.Data <c>DialogueTokenizer</c>'s <c>EosId</c>), 0 or more; null (the default) lets the text methods find it.</summary>
    public int? EndOfSequenceId { get; set; }

    /// <summary>
    /// Strings that end generation in the text methods only (<see cref="IncrementalGenerator.StreamText"/>), matched on the
    /// decoded text, ordinal ignoring case (a word-level vocabulary decodes in lower case): for example <c>"Human:"</c>.
    /// Not part of the output however the tokens split it; text that might begin one is held back. The session has read it.
    /// </summary>
    public IList<string> StopStrings { get; } = new List<string>();

    /// <summary>Throws an <see cref="OptionsValidationException"/> naming every bad option; returns this instance otherwise.</summary>
    public GenerationOptions Validate() => OptionsFailures.ThrowIfInvalid(this, new GenerationOptionsValidator());
}
