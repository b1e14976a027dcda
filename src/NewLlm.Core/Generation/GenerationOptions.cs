using Microsoft.Extensions.Options;

namespace NewLlm;

/// <summary>How <see cref="NewLlmGenerator"/> picks tokens. Validated by <see cref="GenerationOptionsValidator"/>.</summary>
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

    /// <summary>
    /// Token sequences that end generation. A stop sequence is not part of the output; tokens that might begin one are
    /// held back until it is clear they do not.
    /// </summary>
    public IList<int[]> StopSequences { get; } = new List<int[]>();

    /// <summary>Throws an <see cref="OptionsValidationException"/> naming every bad option; returns this instance otherwise.</summary>
    public GenerationOptions Validate()
    {
        return OptionsFailures.ThrowIfInvalid(this, new GenerationOptionsValidator());
    }
}
