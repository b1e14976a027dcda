using System.Collections;
using System.Collections.Specialized;
using System.IO.Compression;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace NewLlm.Training;

/// <summary>
/// The PyTorch part of a version 4 checkpoint: <c>data.pkl</c>, <c>byteorder</c>, <c>data/N</c> and <c>version</c>
/// under the archive's top folder, as <c>torch.save</c> lays them out, holding the original New-LLM trainer's dict
/// (<c>model_state_dict</c>, <c>optimizer_state_dict</c> in PyTorch's Adam layout, <c>train_losses</c>,
/// <c>val_losses</c>, <c>train_ppls</c>, <c>val_ppls</c>, <c>current_epoch</c>, <c>config</c> as a plain dict). It is
/// the only copy of the weights and the optimizer state: float32 tensors are written byte for byte, and Adam's step
/// counts as float32 (PyTorch's own type) while they are exact in it, float64 from 2^24 on, so reading them back is exact.
/// </summary>
internal static class PyTorchCheckpointPart
{
    /// <summary>The top folder of a checkpoint written by NewLlm (PyTorch takes whatever the first record's folder is).</summary>
    internal const string ArchiveFolder = "archive";

    /// <summary>The folder, under the top folder, of NewLlm's own records, which torch.load never asks for.</summary>
    internal const string NewLlmFolder = "newllm/";

    internal const string DataPickle = "data.pkl";

    /// <summary>Step counts from this one on are not exact in float32, so they are written as float64.</summary>
    private const long LargestExactFloat32 = 1L << 24;

    /// <summary>The PyTorch records of the run's state, pickled (the caller disposes them).</summary>
    public static PyTorchRecords Write(NewLlmModel model, OptimizerHelper optimizer, TrainerState state, TrainerOptions options)
    {
        var handles = new List<Tensor>();
        try
        {
            using var noGrad = torch.no_grad();
            var modelState = new OrderedDictionary();
            foreach ((string name, Tensor tensor) in model.state_dict())
            {
                modelState[name] = ForPickle(tensor, handles);
            }

            var root = new OrderedDictionary
            {
                ["model_state_dict"] = modelState,
                ["optimizer_state_dict"] = AdamForPickle(optimizer, handles),
                ["train_losses"] = new ArrayList(state.History.Select(r => (object)r.TrainLoss).ToArray()),
                ["val_losses"] = new ArrayList(state.History.Select(r => (object)(r.Validation?.Loss ?? double.NaN)).ToArray()),
                ["train_ppls"] = new ArrayList(state.History.Select(r => (object)r.TrainPerplexity).ToArray()),
                ["val_ppls"] = new ArrayList(state.History.Select(r => (object)(r.Validation?.Perplexity ?? double.NaN)).ToArray()),
                ["current_epoch"] = state.Epoch,
                ["config"] = Config(model.Options, options),
            };

            // Held once, in a stream sized for it (a growing one would copy it each time it doubles).
            long tensorBytes = handles.Sum(t => t.numel() * t.ElementSize);
            var pickled = new MemoryStream((int)Math.Min(Array.MaxLength, tensorBytes + (1 << 20)));
            try
            {
                PyTorchPickler.PickleStateDict(pickled, root, leaveOpen: true);
                return new PyTorchRecords(pickled);
            }
            catch
            {
                pickled.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (Tensor handle in handles)
            {
                handle.Dispose();
            }
        }
    }

    /// <summary>Unpickles the PyTorch part of a checkpoint file's bytes (already verified); the caller disposes the tensors.</summary>
    public static Hashtable Read(byte[] file)
    {
        using var stream = new MemoryStream(file, writable: false);
        return PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true);
    }

    /// <summary>Every tensor in an unpickled tree, for disposing.</summary>
    public static IEnumerable<Tensor> Tensors(object? node) => node switch
    {
        Tensor t => [t],
        IDictionary dict => dict.Values.Cast<object?>().SelectMany(Tensors),
        string => [],
        IEnumerable items => items.Cast<object?>().SelectMany(Tensors),
        _ => [],
    };

    /// <summary>Copies <c>model_state_dict</c> into <paramref name="model"/>: the same names, shapes and float32, or it throws and changes nothing.</summary>
    public static void LoadModel(Hashtable root, NewLlmModel model, string path)
    {
        if (root["model_state_dict"] is not IDictionary saved)
        {
            throw new InvalidDataException($"{path}: the checkpoint's PyTorch part has no 'model_state_dict'.");
        }

        Dictionary<string, Tensor> target = model.state_dict();
        string[] unexpected = saved.Keys.Cast<object>().Select(k => k.ToString()!).Where(k => !target.ContainsKey(k)).ToArray();
        if (unexpected.Length > 0 || saved.Count != target.Count)
        {
            throw new InvalidDataException($"{path}: the checkpoint's 'model_state_dict' does not fit the model: {saved.Count} tensors for {target.Count} parameters{(unexpected.Length > 0 ? $", unexpected: {string.Join(", ", unexpected)}" : string.Empty)}.");
        }

        foreach ((string name, Tensor own) in target)
        {
            if (saved[name] is not Tensor value || value.dtype != ScalarType.Float32 || !value.shape.SequenceEqual(own.shape))
            {
                throw new InvalidDataException($"{path}: the checkpoint's '{name}' is {Describe(saved[name])}; the model's is a Float32 tensor of shape [{string.Join(", ", own.shape)}].");
            }
        }

        using var noGrad = torch.no_grad();
        foreach ((string name, Tensor own) in target)
        {
            own.copy_((Tensor)saved[name]!);
        }
    }

    /// <summary>Puts <c>optimizer_state_dict</c> into <paramref name="optimizer"/> (Adam or AdamW): moments, step counts and param-group hyper-parameters.</summary>
    public static void LoadOptimizer(Hashtable root, OptimizerHelper optimizer, string path)
    {
        if (root["optimizer_state_dict"] is not IDictionary dict || dict["state"] is not IDictionary state || dict["param_groups"] is not IList groups)
        {
            throw new InvalidDataException($"{path}: the checkpoint's PyTorch part has no optimizer state dict ('optimizer_state_dict' with 'state' and 'param_groups').");
        }

        OptimizerHelper.StateDictionary own = optimizer.state_dict();
        if (groups.Count != own.Options.Count)
        {
            throw new InvalidDataException($"{path}: the optimizer state has {groups.Count} param groups, the trainer's optimizer {own.Options.Count}.");
        }

        Parameter[] parameters = [.. optimizer.parameters()];
        var values = new List<(AdamMoments Target, long Step, Tensor ExpAvg, Tensor ExpAvgSq, Tensor? Max)>();
        for (int i = 0; i < own.State.Count; i++)
        {
            AdamMoments target = AdamMoments.Of(own.State[i], path);
            if (state[i] is not IDictionary s)
            {
                if (target.Step == 0)
                {
                    continue; // a parameter that never had a gradient has no state in PyTorch
                }

                throw new InvalidDataException($"{path}: the optimizer state has no entry for parameter {i}.");
            }

            long[] shape = parameters[i].shape;
            Tensor expAvg = Moment(s["exp_avg"], shape, $"parameter {i}: 'exp_avg'", path);
            Tensor expAvgSq = Moment(s["exp_avg_sq"], shape, $"parameter {i}: 'exp_avg_sq'", path);
            Tensor? max = s["max_exp_avg_sq"] is null ? null : Moment(s["max_exp_avg_sq"], shape, $"parameter {i}: 'max_exp_avg_sq'", path);
            values.Add((target, Step(s["step"], i, path), expAvg, expAvgSq, max));
        }

        if (state.Count > own.State.Count)
        {
            throw new InvalidDataException($"{path}: the optimizer state has {state.Count} parameters, the trainer's optimizer {own.State.Count}.");
        }

        var groupValues = new List<(OptimizerOptions Target, IDictionary Saved)>();
        for (int g = 0; g < groups.Count; g++)
        {
            if (groups[g] is not IDictionary saved || saved["betas"] is not IList { Count: 2 })
            {
                throw new InvalidDataException($"{path}: the optimizer's param group {g} is not Adam's (it needs 'lr', 'betas', 'eps', 'weight_decay').");
            }

            groupValues.Add((own.Options[g], saved));
        }

        using var noGrad = torch.no_grad();
        foreach ((AdamMoments target, long step, Tensor expAvg, Tensor expAvgSq, Tensor? max) in values)
        {
            target.Set(step, expAvg, expAvgSq, max);
        }

        foreach ((OptimizerOptions target, IDictionary saved) in groupValues)
        {
            SetGroup(target, saved, path);
        }
    }

    /// <summary>Sets one parameter's Adam (or AdamW) state: the step count and copies of the moments (converted to the optimizer's dtype).</summary>
    internal static void SetParameterState(OptimizerHelper optimizer, int index, long step, Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq)
    {
        using var noGrad = torch.no_grad();
        AdamMoments.Of(optimizer.state_dict().State[index], "the trainer's optimizer").Set(step, expAvg, expAvgSq, maxExpAvgSq);
    }

    /// <summary>Sets a param group's Adam hyper-parameters.</summary>
    internal static void SetGroupOptions(OptimizerHelper optimizer, int group, double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad)
    {
        OptimizerOptions target = optimizer.state_dict().Options[group];
        target.LearningRate = lr;
        switch (target)
        {
            case Adam.Options a:
                (a.beta1, a.beta2, a.eps, a.weight_decay, a.amsgrad) = (beta1, beta2, eps, weightDecay, amsgrad);
                break;
            case AdamW.Options a:
                (a.beta1, a.beta2, a.eps, a.weight_decay, a.amsgrad) = (beta1, beta2, eps, weightDecay, amsgrad);
                break;
            default:
                throw new InvalidOperationException($"Only Adam's and AdamW's hyper-parameters can be set, not {target.GetType().FullName}'s.");
        }
    }

    /// <summary>
    /// The tensor as the pickler needs it: on the CPU and contiguous. A CPU tensor is not copied (the save reads it
    /// before anything can change it); the handle is kept in <paramref name="handles"/> for disposing.
    /// </summary>
    private static Tensor ForPickle(Tensor tensor, List<Tensor> handles)
    {
        Tensor handle = tensor.detach().cpu().contiguous().DetachFromDisposeScope();
        handles.Add(handle);
        return handle;
    }

    private static OrderedDictionary AdamForPickle(OptimizerHelper optimizer, List<Tensor> handles)
    {
        OptimizerHelper.StateDictionary sd = optimizer.state_dict();
        var state = new OrderedDictionary();
        for (int i = 0; i < sd.State.Count; i++)
        {
            AdamMoments s = AdamMoments.Of(sd.State[i], "the optimizer");
            if (s.Step == 0)
            {
                continue; // as PyTorch: no state before a parameter's first step
            }

            Tensor step = (s.Step < LargestExactFloat32
                ? torch.tensor((float)s.Step, dtype: ScalarType.Float32)
                : torch.tensor((double)s.Step, dtype: ScalarType.Float64)).DetachFromDisposeScope();
            handles.Add(step);
            var entry = new OrderedDictionary { ["step"] = step, ["exp_avg"] = ForPickle(s.ExpAvg, handles), ["exp_avg_sq"] = ForPickle(s.ExpAvgSq, handles) };
            if (s.MaxExpAvgSq is { } max)
            {
                entry["max_exp_avg_sq"] = ForPickle(max, handles);
            }

            state.Add(i, entry); // Add: OrderedDictionary's int indexer is positional
        }

        var groups = new ArrayList();
        int first = 0;
        foreach (ParamGroup group in optimizer.ParamGroups)
        {
            int count = group.Parameters.Count();
            AdamSettings hyper = AdamSettings.Of(group.Options);
            groups.Add(new OrderedDictionary
            {
                ["lr"] = group.LearningRate,
                ["betas"] = new object[] { hyper.Beta1, hyper.Beta2 },
                ["eps"] = hyper.Epsilon,
                ["weight_decay"] = hyper.WeightDecay,
                ["amsgrad"] = hyper.AmsGrad,
                ["maximize"] = hyper.Maximize,
                ["foreach"] = null,
                ["capturable"] = false,
                ["differentiable"] = false,
                ["fused"] = null,
                ["initial_lr"] = group.InitialLearningRate,
                ["params"] = new ArrayList(Enumerable.Range(first, count).Cast<object>().ToArray()),
            });
            first += count;
        }

        // PyTorch's order (a Hashtable's would change from one process to the next, and so would the file's bytes).
        return new OrderedDictionary { ["state"] = state, ["param_groups"] = groups };
    }

    /// <summary>The original's config attributes that NewLlm knows, as a plain dict (a weights-only load reads it).</summary>
    private static OrderedDictionary Config(NewLlmOptions model, TrainerOptions options) => new()
    {
        ["vocab_size"] = model.VocabSize,
        ["embed_dim"] = model.EmbedDim,
        ["hidden_dim"] = model.HiddenDim,
        ["context_vector_dim"] = model.ContextDim,
        ["num_layers"] = model.NumLayers,
        ["dropout"] = model.Dropout,
        ["learning_rate"] = options.LearningRate,
        ["weight_decay"] = options.WeightDecay,
        ["batch_size"] = options.BatchSize,
        ["num_epochs"] = options.Epochs,
        ["model_name"] = options.ModelName,
    };

    private static void SetGroup(OptimizerOptions target, IDictionary saved, string path)
    {
        double lr = Number(saved["lr"], "'lr'", path);
        var betas = (IList)saved["betas"]!;
        double beta1 = Number(betas[0], "'betas'", path), beta2 = Number(betas[1], "'betas'", path);
        double eps = Number(saved["eps"], "'eps'", path), weightDecay = Number(saved["weight_decay"], "'weight_decay'", path);
        bool amsgrad = saved["amsgrad"] is true, maximize = saved["maximize"] is true;
        target.LearningRate = lr;
        target.InitialLearningRate = saved["initial_lr"] is { } initial ? Number(initial, "'initial_lr'", path) : target.InitialLearningRate;
        switch (target)
        {
            case Adam.Options a:
                (a.beta1, a.beta2, a.eps, a.weight_decay, a.amsgrad, a.maximize) = (beta1, beta2, eps, weightDecay, amsgrad, maximize);
                break;
            case AdamW.Options a:
                (a.beta1, a.beta2, a.eps, a.weight_decay, a.amsgrad, a.maximize) = (beta1, beta2, eps, weightDecay, amsgrad, maximize);
                break;
        }
    }

    private static Tensor Moment(object? value, long[] shape, string what, string path) =>
        value is Tensor t && t.dtype == ScalarType.Float32 && t.shape.SequenceEqual(shape)
            ? t
            : throw new InvalidDataException($"{path}: the optimizer state's {what} is {Describe(value)}, not a Float32 tensor of shape [{string.Join(", ", shape)}].");

    private static long Step(object? value, int index, string path)
    {
        double step = Number(value, $"parameter {index}: 'step'", path);
        return step >= 0 && step == Math.Floor(step) && step < 9e15
            ? (long)step
            : throw new InvalidDataException($"{path}: the optimizer state's step count of parameter {index} is {step}, not a whole number of steps.");
    }

    private static double Number(object? value, string what, string path)
    {
        switch (value)
        {
            case double or float or int or long:
                return Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
            case Tensor { NumberOfElements: 1 } t:
                using (Tensor d = t.to_type(ScalarType.Float64))
                {
                    return d.item<double>();
                }

            default:
                throw new InvalidDataException($"{path}: the optimizer state's {what} is {Describe(value)}, not a number.");
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "missing",
        Tensor t => $"a {t.dtype} tensor of shape [{string.Join(", ", t.shape)}]",
        _ => $"{value} ({value.GetType().Name})",
    };
}
