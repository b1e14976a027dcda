using System.Globalization;
using Microsoft.Extensions.Options;

namespace NewLlm;

/// <summary>
/// Sizes and regularisation of a <see cref="TransformerBaselineModel"/>, the original's GPT-style baseline. The defaults
/// are the original's configuration (embedding 256, FFN 1024, 32 positions, dropout 0.1) with 4 heads and 2 layers.
/// Validated by <see cref="TransformerBaselineOptionsValidator"/>; <see cref="Validate"/> throws an
/// <see cref="OptionsValidationException"/> naming every bad option.
/// </summary>
public sealed class TransformerBaselineOptions
{
    /// <summary>Number of token ids the model embeds and predicts (default 1000).</summary>
    public int VocabSize { get; set; } = 1000;

    /// <summary>Width of the token and position embeddings and of every block (default 256); a multiple of <see cref="NumHeads"/>.</summary>
    public int EmbedDim { get; set; } = 256;

    /// <summary>Number of attention heads per block (default 4).</summary>
    public int NumHeads { get; set; } = 4;

    /// <summary>Width of each block's feed-forward layer (default 1024).</summary>
    public int HiddenDim { get; set; } = 1024;

    /// <summary>Number of Transformer blocks (default 2).</summary>
    public int NumLayers { get; set; } = 2;

    /// <summary>Number of learned positions, the longest sequence the model reads (default 32).</summary>
    public int MaxSeqLength { get; set; } = 32;

    /// <summary>Dropout probability of the embeddings, attention weights, FFN and residual branches, in [0, 1) (default 0.1).</summary>
    public double Dropout { get; set; } = 0.1;

    /// <summary>Seed of the initial weights (the same in every process), or null (the default) to draw them from TorchSharp's global generator as the original does.</summary>
    public int? Seed { get; set; }

    /// <summary>The number of parameters (weights and biases) of a model with these sizes.</summary>
    public long ParameterCount => TransformerBaselineModel.ShapesOf(this).Sum(kv => kv.Value.Aggregate(1L, (a, b) => checked(a * b)));

    /// <summary>
    /// A baseline whose parameter count is within <paramref name="tolerance"/> (5% by default) of the New-LLM model
    /// <paramref name="newLlm"/>'s, for a comparison at the same size: the same vocabulary, <paramref name="numHeads"/>
    /// heads, <paramref name="numLayers"/> blocks (New-LLM's layer count when null) and <paramref name="maxSeqLength"/>
    /// positions; the width is chosen, the embedding a multiple of the heads and the FFN four times it (the original's
    /// 256 / 1024 ratio), as the one whose count is nearest New-LLM's.
    /// </summary>
    /// <param name="newLlm">The New-LLM model's sizes.</param>
    /// <param name="numHeads">Attention heads per block.</param>
    /// <param name="numLayers">Transformer blocks; New-LLM's <see cref="NewLlmOptions.NumLayers"/> when null.</param>
    /// <param name="maxSeqLength">Learned positions (the longest sequence the baseline reads).</param>
    /// <param name="tolerance">The largest relative difference accepted, in (0, 1).</param>
    /// <returns>The baseline's options (dropout and seed New-LLM's); <see cref="ParameterCount"/> gives its count.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the tolerance is outside (0, 1).</exception>
    /// <exception cref="ArgumentException">No width brings the count within the tolerance (the vocabulary and positions alone outweigh New-LLM's parameters): use fewer layers or positions.</exception>
    public static TransformerBaselineOptions MatchingParameterCount(NewLlmOptions newLlm, int numHeads, int? numLayers, int maxSeqLength, double tolerance = 0.05)
    {
        ArgumentNullException.ThrowIfNull(newLlm);
        newLlm.Clone().Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numHeads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSeqLength);
        if (numLayers is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, "The number of layers must be positive (or null for New-LLM's).");
        }

        if (!(tolerance > 0 && tolerance < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "The tolerance must be in (0, 1).");
        }

        long target = newLlm.ParameterCount;
        TransformerBaselineOptions Candidate(int embed) => new()
        {
            VocabSize = newLlm.VocabSize,
            EmbedDim = embed,
            NumHeads = numHeads,
            HiddenDim = 4 * embed,
            NumLayers = numLayers ?? newLlm.NumLayers,
            MaxSeqLength = maxSeqLength,
            Dropout = newLlm.Dropout,
            Seed = newLlm.Seed,
        };

        // The count grows with the width: walk up by one head's width until it passes New-LLM's, keep the nearer of the two around it.
        TransformerBaselineOptions best = Candidate(numHeads);
        for (int embed = numHeads; embed <= 1 << 16; embed += numHeads)
        {
            TransformerBaselineOptions candidate = Candidate(embed);
            if (Math.Abs(candidate.ParameterCount - target) < Math.Abs(best.ParameterCount - target))
            {
                best = candidate;
            }

            if (candidate.ParameterCount >= target)
            {
                break;
            }
        }

        double difference = Math.Abs(best.ParameterCount - target) / (double)target;
        return difference <= tolerance
            ? best
            : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"No Transformer baseline with {numHeads} heads, {best.NumLayers} layer(s), {maxSeqLength} positions and vocabulary {newLlm.VocabSize} comes within {tolerance:P0} of New-LLM's {target:N0} parameters (the nearest, embedding {best.EmbedDim}, has {best.ParameterCount:N0}): use fewer layers, heads or positions."), nameof(newLlm));
    }

    /// <summary>Returns a copy, so that a model keeps the options it was built with.</summary>
    public TransformerBaselineOptions Clone() => (TransformerBaselineOptions)MemberwiseClone();

    /// <summary>Throws an <see cref="OptionsValidationException"/> naming every bad option; returns this instance otherwise.</summary>
    public TransformerBaselineOptions Validate() => OptionsFailures.ThrowIfInvalid(this, new TransformerBaselineOptionsValidator());

    /// <inheritdoc />
    public override string ToString() =>
        $"VocabSize={VocabSize}, EmbedDim={EmbedDim}, NumHeads={NumHeads}, HiddenDim={HiddenDim}, NumLayers={NumLayers}, MaxSeqLength={MaxSeqLength}, Dropout={Dropout}" + (Seed is int seed ? $", Seed={seed}" : string.Empty);
}
