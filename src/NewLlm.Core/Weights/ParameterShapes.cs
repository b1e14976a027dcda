namespace NewLlm;

/// <summary>
/// The names and shapes of a <see cref="NewLlmModel"/>'s parameters in its <c>state_dict</c> order (the original's
/// names and order), from its options alone, so that a file's tensors are checked before any of them is read.
/// </summary>
internal static class ParameterShapes
{
    /// <summary>Name to shape, in <c>state_dict</c> order.</summary>
    public static List<KeyValuePair<string, long[]>> Of(NewLlmOptions options)
    {
        long v = options.VocabSize, e = options.EmbedDim, h = options.HiddenDim, c = options.ContextDim;
        var shapes = new List<KeyValuePair<string, long[]>> { new("token_embedding.weight", [v, e]) };
        for (int i = 0; i < options.NumLayers; i++)
        {
            shapes.Add(new($"fnn_layers.{3 * i}.weight", [h, i == 0 ? e + c : h]));
            shapes.Add(new($"fnn_layers.{3 * i}.bias", [h]));
        }

        shapes.Add(new("token_output.weight", [v, h]));
        shapes.Add(new("token_output.bias", [v]));
        foreach (string head in new[] { "context_update", "forget_gate", "input_gate" })
        {
            shapes.Add(new($"{head}.weight", [c, h]));
            shapes.Add(new($"{head}.bias", [c]));
        }

        shapes.Add(new("context_norm.weight", [c]));
        shapes.Add(new("context_norm.bias", [c]));
        return shapes;
    }
}
