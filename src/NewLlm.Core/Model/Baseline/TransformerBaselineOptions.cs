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

    /// <summary>Returns a copy, so that a model keeps the options it was built with.</summary>
    public TransformerBaselineOptions Clone() => (TransformerBaselineOptions)MemberwiseClone();

    /// <summary>Throws an <see cref="OptionsValidationException"/> naming every bad option; returns this instance otherwise.</summary>
    public TransformerBaselineOptions Validate() => OptionsFailures.ThrowIfInvalid(this, new TransformerBaselineOptionsValidator());

    /// <inheritdoc />
    public override string ToString() =>
        $"VocabSize={VocabSize}, EmbedDim={EmbedDim}, NumHeads={NumHeads}, HiddenDim={HiddenDim}, NumLayers={NumLayers}, MaxSeqLength={MaxSeqLength}, Dropout={Dropout}" + (Seed is int seed ? $", Seed={seed}" : string.Empty);
}
