namespace NewLlm;

/// <summary>
/// The one way a model is made from another (<see cref="NewLlmModel.ExpandContext"/>, <see cref="NewLlmModel.AddLayers"/>,
/// <see cref="NewLlmModel.WithFreshVocabulary"/>): a new model of the given sizes on the old one's device, in its dtype,
/// training mode and compute dtype, each parameter set by a rule from its name and the old parameter of that name.
/// </summary>
internal static class DerivedModel
{
    /// <param name="model">The model the weights come from; untouched.</param>
    /// <param name="options">The new model's sizes (validated by the constructor).</param>
    /// <param name="fill">Sets a new parameter (name, new parameter, the old parameter of that name or null); runs without gradients in a dispose scope.</param>
    public static NewLlmModel Create(NewLlmModel model, NewLlmOptions options, Action<string, Tensor, Tensor?> fill)
    {
        ScalarType dtype = model.parameters().First().dtype;
        var derived = new NewLlmModel(options, model.Device);
        try
        {
            if (dtype != ScalarType.Float32)
            {
                derived.to(dtype);
            }

            derived.train(model.training);
            derived.ComputeDType = model.ComputeDType;
            var old = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            foreach ((string name, var parameter) in derived.named_parameters())
            {
                fill(name, parameter, old.GetValueOrDefault(name));
            }

            return derived;
        }
        catch
        {
            derived.Dispose();
            throw;
        }
    }
}
