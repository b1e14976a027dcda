namespace NewLlm;

/// <summary>
/// A <see cref="NewLlmModel"/>'s weights in PyTorch <c>torch.save</c> files: a flat state dict or the original
/// trainer's checkpoint dict (its <c>model_state_dict</c>). <see cref="NewLlmModel.FromPyTorch"/>,
/// <see cref="NewLlmModel.LoadPyTorch(string)"/> and <see cref="NewLlmModel.SavePyTorch"/> are the public entry points.
/// </summary>
/// <remarks>
/// Values are copied into the model's own parameters (<see cref="SafetensorsWeights.LoadStateFrom"/>) rather than
/// loaded with PyBridge's <c>module.load_py</c>: that one reads flat state dicts only, and since PyBridge 1.4.2 it sets
/// each live parameter's requires_grad from the pickled flag, which is false in every state dict PyTorch writes, so a
/// model loaded through it would no longer train.
/// </remarks>
internal static class PyTorchWeights
{
    /// <summary>The dtypes a parameter may have in the file; each is converted to the model's float32.</summary>
    private static readonly ScalarType[] FloatTypes = [ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Float64];

    /// <summary>Loads every parameter of <paramref name="model"/> from the file; the model is untouched when that fails.</summary>
    public static void Load(NewLlmModel model, string path)
    {
        using FileStream stream = PyTorchCheckpointFormat.OpenRead(path, out string fullPath);
        Load(model, stream, fullPath);
    }

    /// <summary>Loads every parameter of <paramref name="model"/> from an archive in a stream; the model is untouched when that fails.</summary>
    public static void Load(NewLlmModel model, Stream stream, string source) =>
        WithState(stream, source, model.Options, state =>
        {
            SafetensorsWeights.LoadStateFrom(model, state);
            return model;
        });

    /// <summary>A new model whose sizes are inferred from the file's tensor shapes (default dropout), with its weights loaded, in evaluation mode.</summary>
    public static NewLlmModel Create(string path, Device? device)
    {
        using FileStream stream = PyTorchCheckpointFormat.OpenRead(path, out string fullPath);
        return WithState(stream, fullPath, null, state =>
            SafetensorsWeights.CreateLoaded(SafetensorsWeights.InferOptions(state.ToDictionary(kv => kv.Key, kv => kv.Value.shape), fullPath), state, device));
    }

    /// <summary>Writes the model's state dict as <c>torch.save(model.state_dict())</c> does (float32, the original's names).</summary>
    public static void Save(NewLlmModel model, string path) => PyTorchCheckpointFormat.WriteStateDict(model.state_dict(), path);

    /// <summary>
    /// Reads the file's model state dict only (its shapes checked against <paramref name="expected"/>, or against the
    /// sizes they imply, before any tensor is read), checks its dtypes, runs <paramref name="use"/> on it, and
    /// disposes every tensor the file held.
    /// </summary>
    private static T WithState<T>(Stream stream, string source, NewLlmOptions? expected, Func<IReadOnlyDictionary<string, Tensor>, T> use) =>
        WithState(stream, source, expected, shapesOf: null, use);

    /// <summary>As above for another model, whose parameter names and shapes <paramref name="shapesOf"/> gives for the file's (see <see cref="PyTorchCheckpointFormat.Read"/>).</summary>
    internal static T WithModelState<T>(Stream stream, string source, Func<IReadOnlyDictionary<string, long[]>, List<KeyValuePair<string, long[]>>> shapesOf, Func<IReadOnlyDictionary<string, Tensor>, T> use) =>
        WithState(stream, source, expected: null, shapesOf, use);

    private static T WithState<T>(Stream stream, string source, NewLlmOptions? expected, Func<IReadOnlyDictionary<string, long[]>, List<KeyValuePair<string, long[]>>>? shapesOf, Func<IReadOnlyDictionary<string, Tensor>, T> use)
    {
        using PyTorchCheckpoint checkpoint = PyTorchCheckpointFormat.Read(stream, source, expected, modelOnly: true, shapesOf);
        IDictionary<string, Tensor> state = checkpoint.ModelState;
        string[] badTypes = state.Where(kv => !FloatTypes.Contains(kv.Value.dtype)).Select(kv => $"'{kv.Key}' is {kv.Value.dtype}").ToArray();
        if (badTypes.Length > 0)
        {
            throw new InvalidDataException($"{source}: unsupported tensor dtype: {string.Join(", ", badTypes)}; model weights must be float32, float16, bfloat16 or float64.");
        }

        return use(state.AsReadOnly());
    }
}
