using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

/// <summary>Small models whose weights are far from the initialisation, so that a copied weight is told from a fresh draw.</summary>
internal static class ScrambledModels
{
    /// <summary>Odd sizes (vocabulary 23, E 7, H 11), every parameter (LayerNorm too) drawn from N(0, <paramref name="scale"/>).</summary>
    public static NewLlmModel Create(int layers, int context, double scale, int seed)
    {
        TorchBackend.EnsureLoaded();
        var model = new NewLlmModel(new NewLlmOptions { VocabSize = 23, EmbedDim = 7, HiddenDim = 11, ContextDim = context, NumLayers = layers, Dropout = 0.1, Seed = seed });
        using var noGrad = no_grad();
        using var generator = new Generator((ulong)seed);
        foreach (var (_, parameter) in model.named_parameters())
        {
            parameter.normal_(0, scale, generator);
        }

        return model;
    }

    /// <summary>A detached copy of every parameter, by name.</summary>
    public static Dictionary<string, Tensor> Parameters(NewLlmModel model) => model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
}
