namespace NewLlm;

/// <summary>
/// A <see cref="NewLlmModel"/>'s weights in safetensors files (<see cref="SafetensorsFile"/>), under the original's
/// parameter names: saving, loading into a model of the same sizes, and creating a model whose sizes are read from
/// the tensor shapes. <see cref="NewLlmModel.SaveSafetensors"/>, <see cref="NewLlmModel.LoadSafetensors"/>,
/// <see cref="NewLlmModel.FromSafetensors"/> and <see cref="NewLlmModel.InferOptions"/> are the public entry points.
/// </summary>
internal static class SafetensorsWeights
{
    /// <summary>Writes the model's state dict with its options as metadata.</summary>
    public static void Save(NewLlmModel model, string path) =>
        SafetensorsFile.Write(path, model.state_dict(), new Dictionary<string, string> { ["format"] = "pt", ["newllm.options"] = model.Options.ToString() });

    /// <summary>Loads every parameter of <paramref name="model"/> from the file; its shapes are checked before any tensor is read.</summary>
    public static void Load(NewLlmModel model, string path, bool allowUnexpected) =>
        WithTensors(path, _ => model.Options, allowUnexpected, (_, tensors) =>
        {
            LoadStateFrom(model, tensors);
            return model;
        });

    /// <summary>A new model whose sizes are inferred from the file's tensor shapes, with its weights loaded, in evaluation mode.</summary>
    public static NewLlmModel Create(string path, double dropout, bool allowUnexpected) =>
        WithTensors(path, shapes => InferOptions(shapes, path), allowUnexpected, (options, tensors) =>
        {
            options.Dropout = dropout;
            return CreateLoaded(options, tensors, device: null);
        });

    /// <summary>A new model of <paramref name="options"/> with <paramref name="tensors"/> loaded (as <see cref="LoadStateFrom"/> loads them), in evaluation mode.</summary>
    internal static NewLlmModel CreateLoaded(NewLlmOptions options, IReadOnlyDictionary<string, Tensor> tensors, Device? device)
    {
        var model = new NewLlmModel(options, device);
        try
        {
            LoadStateFrom(model, tensors);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Model sizes from the shapes of a state dict with the original's parameter names.</summary>
    /// <exception cref="InvalidDataException">A tensor needed for the inference is missing or has an impossible shape.</exception>
    public static NewLlmOptions InferOptions(IReadOnlyDictionary<string, long[]> shapes, string source)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        long[] Shape(string name, int rank)
        {
            if (!shapes.TryGetValue(name, out long[]? shape))
            {
                throw new InvalidDataException($"{source}: tensor '{name}' is missing.");
            }

            if (shape.Length != rank)
            {
                throw new InvalidDataException($"{source}: tensor '{name}' has shape [{string.Join(", ", shape)}], expected rank {rank}.");
            }

            return shape;
        }

        long[] embedding = Shape("token_embedding.weight", 2);
        long[] first = Shape("fnn_layers.0.weight", 2);
        long[] context = Shape("context_update.weight", 2);
        int layers = 0;
        while (shapes.ContainsKey($"fnn_layers.{3 * layers}.weight"))
        {
            layers++;
        }

        var options = new NewLlmOptions
        {
            VocabSize = checked((int)embedding[0]),
            EmbedDim = checked((int)embedding[1]),
            HiddenDim = checked((int)first[0]),
            ContextDim = checked((int)context[0]),
            NumLayers = layers,
        };
        if (first[1] != options.EmbedDim + options.ContextDim)
        {
            throw new InvalidDataException($"{source}: tensor 'fnn_layers.0.weight' has shape [{string.Join(", ", first)}], but embedding {options.EmbedDim} + context {options.ContextDim} = {options.EmbedDim + options.ContextDim} inputs are expected.");
        }

        return options.Validate();
    }

    /// <summary>
    /// Reads the file's header, checks its shapes against the model sizes <paramref name="sizes"/> gives for them before
    /// anything is read, reads the model's tensors, runs <paramref name="use"/> on those sizes and tensors, and disposes them.
    /// </summary>
    private static T WithTensors<T>(string path, Func<IReadOnlyDictionary<string, long[]>, NewLlmOptions> sizes, bool allowUnexpected, Func<NewLlmOptions, Dictionary<string, Tensor>, T> use) =>
        WithTensors(path, sizes, ParameterShapes.Of, allowUnexpected, use);

    /// <summary>
    /// As above for any model: <paramref name="sizes"/> gives its options from the declared shapes, and
    /// <paramref name="shapesOf"/> the parameter shapes those options mean.
    /// </summary>
    internal static T WithTensors<TOptions, T>(string path, Func<IReadOnlyDictionary<string, long[]>, TOptions> sizes, Func<TOptions, IEnumerable<KeyValuePair<string, long[]>>> shapesOf, bool allowUnexpected, Func<TOptions, Dictionary<string, Tensor>, T> use)
    {
        using FileStream stream = SafetensorsFile.OpenRead(path);
        List<SafetensorsEntry> entries = SafetensorsFile.ReadHeader(stream, path);
        var declared = entries.ToDictionary(e => e.Name, e => e.Shape, StringComparer.Ordinal);
        TOptions options = sizes(declared);
        var expected = shapesOf(options).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        List<string> problems = ParameterShapes.Problems(declared, expected, allowUnexpected);
        if (problems.Count > 0)
        {
            throw new InvalidDataException($"{path}: cannot load into a model with {options}: {string.Join("; ", problems)}.");
        }

        Dictionary<string, Tensor> tensors = SafetensorsFile.ReadTensors(stream, entries, path, expected.ContainsKey);
        try
        {
            return use(options, tensors);
        }
        finally
        {
            foreach (Tensor t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>
    /// Copies the values in (converted to each parameter's dtype and device) under no_grad: the parameters stay the same
    /// tensors, with their requires_grad flags. Every name and shape was checked against <see cref="ParameterShapes"/>
    /// when the file's header or pickle was read, before any tensor was, so nothing is copied when a check fails.
    /// </summary>
    internal static void LoadStateFrom(nn.Module model, IReadOnlyDictionary<string, Tensor> tensors)
    {
        using var noGrad = no_grad();
        foreach ((string name, Tensor target) in model.state_dict())
        {
            using Tensor converted = tensors[name].to(target.dtype, target.device);
            target.copy_(converted);
        }
    }
}
