namespace NewLlm;

/// <summary>
/// The weights of a model made deeper (<see cref="NewLlmModel.AddLayers"/>): every parameter of the old model copied,
/// and each new hidden layer appended after the old ones as an identity map (weight I, bias 0). The layer before it ends
/// in a ReLU, so its output is never negative and ReLU(I h + 0) = h: the deeper model computes the same logits
/// (Net2DeeperNet, Chen et al. 2016); training then moves the new layers away from the identity.
/// </summary>
internal static class LayerGrower
{
    public static NewLlmModel Grow(NewLlmModel model, int newNumLayers)
    {
        int layers = model.Options.NumLayers;
        if (newNumLayers <= layers)
        {
            throw new ArgumentOutOfRangeException(nameof(newNumLayers), newNumLayers, $"The new number of layers must be larger than the model's {layers}.");
        }

        NewLlmOptions options = model.Options.Clone();
        options.NumLayers = newNumLayers;
        options.Seed = null;
        return DerivedModel.Create(model, options, (name, parameter, source) =>
        {
            if (source is not null)
            {
                parameter.copy_(source);
            }
            else if (name.EndsWith(".weight", StringComparison.Ordinal))
            {
                parameter.copy_(eye(parameter.shape[0], parameter.shape[1], dtype: parameter.dtype, device: parameter.device));
            }
            else
            {
                parameter.zero_();
            }
        });
    }
}
