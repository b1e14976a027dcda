using Microsoft.Extensions.Options;

namespace NewLlm;

/// <summary>
/// Sizes and regularisation of a <see cref="NewLlmModel"/>. The defaults are those of the original New-LLM.
/// Validated by <see cref="NewLlmOptionsValidator"/>; <see cref="Validate"/> throws an
/// <see cref="OptionsValidationException"/> naming every bad option.
/// </summary>
public sealed class NewLlmOptions
{
    /// <summary>Number of token ids the model embeds and predicts (default 1000).</summary>
    public int VocabSize { get; set; } = 1000;

    /// <summary>Width of the token embedding (default 256).</summary>
    public int EmbedDim { get; set; } = 256;

    /// <summary>Width of every feed-forward layer (default 512).</summary>
    public int HiddenDim { get; set; } = 512;

    /// <summary>Width of the context vector, the model's whole recurrent state (default 256).</summary>
    public int ContextDim { get; set; } = 256;

    /// <summary>Number of Linear+ReLU+Dropout layers in the feed-forward stack (default 1).</summary>
    public int NumLayers { get; set; } = 1;

    /// <summary>Dropout probability after each ReLU, in [0, 1) (default 0.1).</summary>
    public double Dropout { get; set; } = 0.1;

    /// <summary>
    /// Seed of the initial weights (bit-identical in every process, whatever was drawn before), or null (the default)
    /// to draw them from TorchSharp's global generator as the original does. Dropout masks still come from the global
    /// generator, which <c>torch.manual_seed</c> seeds.
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>The number of parameters (weights and biases) of a model with these sizes.</summary>
    public long ParameterCount => ParameterShapes.Of(this).Sum(kv => kv.Value.Aggregate(1L, (a, b) => checked(a * b)));

    /// <summary>Returns a copy, so that a model keeps the options it was built with.</summary>
    public NewLlmOptions Clone() => (NewLlmOptions)MemberwiseClone();

    /// <summary>Throws an <see cref="OptionsValidationException"/> naming every bad option; returns this instance otherwise.</summary>
    public NewLlmOptions Validate() => OptionsFailures.ThrowIfInvalid(this, new NewLlmOptionsValidator());

    /// <inheritdoc />
    public override string ToString() =>
        $"VocabSize={VocabSize}, EmbedDim={EmbedDim}, HiddenDim={HiddenDim}, ContextDim={ContextDim}, NumLayers={NumLayers}, Dropout={Dropout}" + (Seed is int seed ? $", Seed={seed}" : string.Empty);
}
