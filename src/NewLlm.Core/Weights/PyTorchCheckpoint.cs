namespace NewLlm;

/// <summary>
/// A file written by PyTorch's <c>torch.save</c> (the zip format: <c>archive/data.pkl</c> plus one
/// <c>archive/data/N</c> entry per storage), as the original New-LLM trainer writes it: a dict of
/// <c>model_state_dict</c>, <c>optimizer_state_dict</c> (Adam), <c>train_losses</c>, <c>val_losses</c>,
/// <c>train_ppls</c>, <c>val_ppls</c>, <c>current_epoch</c> and <c>config</c>. <see cref="Read(string)"/> also takes a flat
/// state dict (<c>torch.save(model.state_dict())</c>): then only <see cref="ModelState"/> is filled.
/// <see cref="Write(string)"/> writes the same layout, with the config as a plain dict, so that
/// <c>torch.load(path, weights_only=True)</c> reads it and the original trainer's <c>load_checkpoint</c> resumes from it.
/// </summary>
/// <remarks>
/// <para>
/// The original pickles its config as an instance of a class of its training script (<c>__main__.HHRLHFTrainConfig</c>),
/// read as its attributes (<see cref="Config"/>) and class name (<see cref="ConfigClassName"/>). The original's sizes are
/// class attributes, not in the file, so <see cref="NewLlmModel.FromPyTorch"/> infers them from the tensor shapes.
/// </para>
/// <para>
/// A checkpoint owns the tensors it read (<see cref="Dispose"/> frees them); tensors a caller puts in stay the caller's.
/// Files are read by a restricted unpickler (an instance of a class stays inert: its name and attributes), so reading
/// never runs code from the file, and never reads more than the model's tensors.
/// </para>
/// </remarks>
public sealed class PyTorchCheckpoint : IDisposable
{
    private readonly List<Tensor> _owned = [];

    /// <summary>Parameter name (the original's: <c>token_embedding.weight</c>, <c>fnn_layers.0.weight</c>, ...) to tensor, in the file's dtype.</summary>
    public IDictionary<string, Tensor> ModelState { get; set; } = new Dictionary<string, Tensor>();

    /// <summary>The Adam state (<c>optimizer_state_dict</c>); null when the file has none (or when writing none).</summary>
    public PyTorchAdamState? Optimizer { get; set; }

    /// <summary>The training loss per epoch (<c>train_losses</c>); empty when the file has none.</summary>
    public IList<double> TrainLosses { get; set; } = new List<double>();

    /// <summary>The validation loss per epoch (<c>val_losses</c>); empty when the file has none.</summary>
    public IList<double> ValLosses { get; set; } = new List<double>();

    /// <summary>The training perplexity per epoch (<c>train_ppls</c>); empty when the file has none.</summary>
    public IList<double> TrainPpls { get; set; } = new List<double>();

    /// <summary>The validation perplexity per epoch (<c>val_ppls</c>); empty when the file has none.</summary>
    public IList<double> ValPpls { get; set; } = new List<double>();

    /// <summary>
    /// The original's <c>current_epoch</c>, as it is stored: the 0-based index of the epoch the checkpoint was taken
    /// in (0 after one epoch; -1 for a run that has completed none); null when the file has none (or when writing
    /// none). The original resumes at the epoch after it (index <c>current_epoch + 1</c>); see <see cref="CompletedEpochs"/>.
    /// </summary>
    public int? CurrentEpoch { get; set; }

    /// <summary>
    /// The number of epochs the run had completed, by the original's rule: <see cref="CurrentEpoch"/> + 1, or, in a
    /// file without <c>current_epoch</c>, the length of the longer of <see cref="TrainLosses"/> and <see cref="ValLosses"/>.
    /// </summary>
    public int CompletedEpochs => CurrentEpoch is int epoch ? Math.Max(0, epoch + 1) : Math.Max(TrainLosses.Count, ValLosses.Count);

    /// <summary>
    /// The config's attributes (<c>config</c>): numbers (<see cref="int"/>, <see cref="long"/>, <see cref="double"/>),
    /// <see cref="bool"/>, <see cref="string"/>, null, lists (<see cref="List{T}"/> of object) and dicts
    /// (<see cref="Dictionary{TKey, TValue}"/> of string to object). Written as a plain dict, so only those types may be put in.
    /// </summary>
    public IDictionary<string, object?> Config { get; set; } = new Dictionary<string, object?>();

    /// <summary>The class the config was an instance of in the file (<c>__main__.HHRLHFTrainConfig</c>); null when it was a plain dict or absent. Not written.</summary>
    public string? ConfigClassName { get; set; }

    /// <summary>Whether the file was a flat state dict (parameter name to tensor) rather than a checkpoint dict with <c>model_state_dict</c>.</summary>
    public bool IsStateDictOnly { get; set; }

    /// <summary>Reads a <c>torch.save</c> file: the original's checkpoint dict, or a flat state dict.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The checkpoint, owning its tensors (dispose it).</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The file is not a zip archive (or is PyTorch's legacy format), is damaged, has no <c>data.pkl</c>, holds a whole
    /// pickled module, holds neither <c>model_state_dict</c> nor a state dict, or an entry has an unexpected type
    /// (an <c>optimizer_state_dict</c> that is not Adam's, for one). The message names the file and what is wrong.
    /// </exception>
    /// <remarks>
    /// Memory and time are bounded by what the model needs: <c>data.pkl</c> (at most 64 MiB) is read first; then the
    /// model's tensors must be exactly a New-LLM model's, Adam's moments their parameters' shapes, and every tensor's
    /// record the size its storage declares, all before any tensor is read. Every record read is checked against its CRC-32.
    /// </remarks>
    public static PyTorchCheckpoint Read(string path)
    {
        using FileStream stream = PyTorchCheckpointFormat.OpenRead(path, out string fullPath);
        return PyTorchCheckpointFormat.Read(stream, fullPath, expected: null, modelOnly: false);
    }

    /// <summary>
    /// Reads a <c>torch.save</c> archive from a seekable stream (left open), as <see cref="Read(string)"/> does, checking
    /// the model's tensors against <paramref name="expectedModel"/>'s sizes when given (before anything is read).
    /// </summary>
    /// <param name="stream">The archive, readable and seekable.</param>
    /// <param name="sourceName">The file's name, for messages.</param>
    /// <param name="expectedModel">The sizes the model must have; null to take the sizes its tensor shapes imply.</param>
    /// <returns>The checkpoint, owning its tensors (dispose it).</returns>
    /// <exception cref="InvalidDataException">As for <see cref="Read(string)"/>, or the model has other sizes than <paramref name="expectedModel"/>.</exception>
#pragma warning disable RS0027 // The overload that takes a model has as many parameters; this one's default (no expected sizes) is the common call.
    public static PyTorchCheckpoint Read(Stream stream, string sourceName, NewLlmOptions? expectedModel = null) =>
        PyTorchCheckpointFormat.Read(stream, sourceName, expectedModel, modelOnly: false);
#pragma warning restore RS0027

    /// <summary>
    /// Reads a <c>torch.save</c> archive from a seekable stream (left open), as <see cref="Read(string)"/> does, checking
    /// that the model's tensors are exactly <paramref name="expectedModel"/>'s parameters with its shapes (any
    /// <see cref="LanguageModel"/>: New-LLM or the Transformer baseline), and Adam's moments their shapes, before anything is read.
    /// </summary>
    /// <param name="stream">The archive, readable and seekable.</param>
    /// <param name="sourceName">The file's name, for messages.</param>
    /// <param name="expectedModel">The model whose state dict the file must hold (it is not changed).</param>
    /// <returns>The checkpoint, owning its tensors (dispose it).</returns>
    /// <exception cref="InvalidDataException">As for <see cref="Read(string)"/>, or a tensor of the model is missing, unexpected or of another shape.</exception>
    public static PyTorchCheckpoint Read(Stream stream, string sourceName, LanguageModel expectedModel)
    {
        ArgumentNullException.ThrowIfNull(expectedModel);
        if (expectedModel is NewLlmModel newLlm)
        {
            return PyTorchCheckpointFormat.Read(stream, sourceName, newLlm.Options, modelOnly: false); // its messages name both models' sizes
        }

        var shapes = expectedModel.state_dict().Select(kv => new KeyValuePair<string, long[]>(kv.Key, kv.Value.shape)).ToList();
        return PyTorchCheckpointFormat.Read(stream, sourceName, expected: null, modelOnly: false, _ => shapes);
    }

    /// <summary>
    /// Writes the checkpoint dict with <c>torch.save</c>'s zip layout (to a temporary file, then renamed):
    /// <c>model_state_dict</c>, <c>optimizer_state_dict</c> in PyTorch's Adam layout (when <see cref="Optimizer"/> is
    /// set), the four lists, <c>current_epoch</c> (when set) and <c>config</c> as a plain dict. Tensors are written
    /// as they are (dtype and shape), from the CPU. <c>torch.load(path, weights_only=True)</c> reads it (PyTorch 2.0 or
    /// later: PyTorch 1.x's weights-only loader reads no Python float, in the original's own checkpoints neither).
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <exception cref="ArgumentException">A config value has a type that a weights-only load would refuse.</exception>
    public void Write(string path) => PyTorchCheckpointFormat.Write(this, path);

    /// <summary>
    /// Writes the checkpoint dict to a stream as <see cref="Write(string)"/> writes it to a file, followed by records of
    /// the caller's own in the archive's folder, which <c>torch.load</c> never reads (a manifest, say).
    /// </summary>
    /// <param name="stream">Where the zip archive is written (left open).</param>
    /// <param name="extraRecords">
    /// Given the SHA-256 (lowercase hex) of every record written, by its name in the archive's folder (<c>data.pkl</c>,
    /// <c>byteorder</c>, <c>data/0</c>, ..., <c>version</c>), returns the records to add after them, by name in that
    /// folder (<c>newllm/manifest.json</c>, say); null for none.
    /// </param>
    /// <exception cref="ArgumentException">A config value has a type that a weights-only load would refuse.</exception>
    public void Write(Stream stream, Func<IReadOnlyDictionary<string, string>, IEnumerable<KeyValuePair<string, byte[]>>>? extraRecords = null) =>
        PyTorchCheckpointFormat.Write(this, stream, extraRecords);

    /// <summary>Frees the tensors this checkpoint read from its file (not those a caller put in).</summary>
    public void Dispose()
    {
        foreach (Tensor tensor in _owned)
        {
            tensor.Dispose();
        }

        _owned.Clear();
    }

    internal Tensor Own(Tensor tensor)
    {
        tensor.DetachFromDisposeScope();
        _owned.Add(tensor);
        return tensor;
    }
}

/// <summary>
/// PyTorch's <c>torch.optim.Adam</c> state dict: the per-parameter moments and step, and the param groups.
/// Parameters are numbered as the original's <c>model.parameters()</c> orders them, which is the order of
/// <see cref="NewLlmModel"/>'s <c>named_parameters()</c> (and of <see cref="PyTorchCheckpoint.ModelState"/>'s names in the
/// original: <c>token_embedding.weight</c> is 0, <c>fnn_layers.0.weight</c> 1, <c>fnn_layers.0.bias</c> 2, ...).
/// </summary>
public sealed class PyTorchAdamState
{
    /// <summary>Parameter index to its state; a parameter that never had a gradient has none.</summary>
    public IDictionary<int, PyTorchAdamParameterState> State { get; set; } = new Dictionary<int, PyTorchAdamParameterState>();

    /// <summary>The param groups (the original has one, holding every parameter).</summary>
    public IList<PyTorchAdamParamGroup> ParamGroups { get; set; } = new List<PyTorchAdamParamGroup>();
}

/// <summary>One parameter's Adam state.</summary>
public sealed class PyTorchAdamParameterState
{
    /// <summary>The number of steps taken (<c>step</c>; a 0-d float32 tensor in PyTorch 1.12 and later, a number before).</summary>
    public double Step { get; set; }

    /// <summary>The first moment (<c>exp_avg</c>), the parameter's shape.</summary>
    public required Tensor ExpAvg { get; set; }

    /// <summary>The second moment (<c>exp_avg_sq</c>), the parameter's shape.</summary>
    public required Tensor ExpAvgSq { get; set; }

    /// <summary>The running maximum of the second moment (<c>max_exp_avg_sq</c>), only with AMSGrad; null otherwise.</summary>
    public Tensor? MaxExpAvgSq { get; set; }
}

/// <summary>One Adam param group: its hyper-parameters and the indices of its parameters.</summary>
public sealed class PyTorchAdamParamGroup
{
    /// <summary>The learning rate (<c>lr</c>; PyTorch's default 1e-3).</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>The first moment's decay (<c>betas[0]</c>; default 0.9).</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>The second moment's decay (<c>betas[1]</c>; default 0.999).</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>The denominator's epsilon (<c>eps</c>; default 1e-8).</summary>
    public double Eps { get; set; } = 1e-8;

    /// <summary>The L2 penalty (<c>weight_decay</c>; default 0).</summary>
    public double WeightDecay { get; set; }

    /// <summary>Whether AMSGrad is used (<c>amsgrad</c>; default false).</summary>
    public bool Amsgrad { get; set; }

    /// <summary>Whether the objective is maximised (<c>maximize</c>; default false).</summary>
    public bool Maximize { get; set; }

    /// <summary>The learning rate a scheduler started from (<c>initial_lr</c>, set by PyTorch's LR schedulers); null when the file has none.</summary>
    public double? InitialLearningRate { get; set; }

    /// <summary>The indices of the group's parameters (<c>params</c>), in the numbering of <see cref="PyTorchAdamState"/>.</summary>
    public IList<int> ParameterIndices { get; set; } = new List<int>();
}
