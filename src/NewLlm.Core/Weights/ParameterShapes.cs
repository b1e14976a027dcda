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

    /// <summary>
    /// What keeps tensors of the <paramref name="declared"/> shapes from being a model's of the <paramref name="expected"/>
    /// ones: each parameter missing or of another shape, and (unless <paramref name="allowUnexpected"/>) each tensor the
    /// model does not have (at most 8 of those named); empty when they fit.
    /// </summary>
    public static List<string> Problems(IReadOnlyDictionary<string, long[]> declared, IEnumerable<KeyValuePair<string, long[]>> expected, bool allowUnexpected)
    {
        var problems = new List<string>();
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string name, long[] shape) in expected)
        {
            known.Add(name);
            if (!declared.TryGetValue(name, out long[]? found))
            {
                problems.Add($"tensor '{name}' is missing");
            }
            else if (!found.SequenceEqual(shape))
            {
                problems.Add($"tensor '{name}' has shape [{string.Join(", ", found)}], the model expects [{string.Join(", ", shape)}]");
            }
        }

        if (!allowUnexpected)
        {
            problems.AddRange(declared.Where(kv => !known.Contains(kv.Key)).Take(8).Select(kv => $"tensor '{kv.Key}' ([{string.Join(", ", kv.Value)}]) is not a parameter of this model"));
        }

        return problems;
    }
}
