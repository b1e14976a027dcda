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
                // The original's validation figures are its batch means (EvaluationMetrics.BatchMeanLoss): written as such, so
                // that the original's resume compares like with like; the token-weighted one where no batch mean is known.
                ["val_losses"] = new ArrayList(state.History.Select(r => (object)OriginalsValidationLoss(r.Validation)).ToArray()),
                ["train_ppls"] = new ArrayList(state.History.Select(r => (object)r.TrainPerplexity).ToArray()),
                ["val_ppls"] = new ArrayList(state.History.Select(r => (object)Math.Exp(OriginalsValidationLoss(r.Validation))).ToArray()),
                // The original's convention: the 0-based index of the last epoch completed, -1 before the first (its resume starts at the next).
                ["current_epoch"] = state.CompletedEpochs - 1,
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

    /// <summary>
    /// Checks that the checkpoint's model state fits <paramref name="model"/> (the same names, shapes and float32) and
    /// returns what copies it in; throws, having changed nothing, when it does not fit.
    /// </summary>
    public static Action PrepareModel(PyTorchCheckpoint saved, NewLlmModel model, string path)
    {
        Dictionary<string, Tensor> target = model.state_dict();
        foreach ((string name, Tensor own) in target)
        {
            if (!saved.ModelState.TryGetValue(name, out Tensor? value) || !value.is_floating_point() || !value.shape.SequenceEqual(own.shape))
            {
                throw new InvalidDataException($"{path}: the checkpoint's '{name}' is {Describe(value)}; the model's is a floating-point tensor of shape [{string.Join(", ", own.shape)}].");
            }
        }

        return () =>
        {
            using var noGrad = torch.no_grad();
            foreach ((string name, Tensor own) in target)
            {
                own.copy_(saved.ModelState[name]);
            }
        };
    }

    /// <summary>
    /// Checks the checkpoint's Adam state against <paramref name="optimizer"/> (Adam or AdamW) and returns what puts it in:
    /// moments, step counts and param-group hyper-parameters; throws, having changed nothing, when it does not fit.
    /// </summary>
    public static Action PrepareOptimizer(PyTorchCheckpoint saved, OptimizerHelper optimizer, string path)
    {
        PyTorchAdamState adam = saved.Optimizer ?? throw new InvalidDataException($"{path}: the checkpoint's PyTorch part has no optimizer state dict ('optimizer_state_dict').");
        OptimizerHelper.StateDictionary own = optimizer.state_dict();
        if (adam.ParamGroups.Count != own.Options.Count)
        {
            throw new InvalidDataException($"{path}: the optimizer state has {adam.ParamGroups.Count} param groups, the trainer's optimizer {own.Options.Count}.");
        }

        if (adam.ParamGroups.Count == 1 && !adam.ParamGroups[0].ParameterIndices.SequenceEqual(Enumerable.Range(0, own.State.Count)))
        {
            throw new InvalidDataException($"{path}: the optimizer state's param group holds parameters [{string.Join(", ", adam.ParamGroups[0].ParameterIndices)}]; the trainer's Adam holds 0 to {own.State.Count - 1} in the model's order.");
        }

        int[] extra = [.. adam.State.Keys.Where(i => i >= own.State.Count)];
        if (extra.Length > 0)
        {
            throw new InvalidDataException($"{path}: the optimizer state has a state for parameter {extra[0]}, the trainer's optimizer {own.State.Count} parameters.");
        }

        var values = new List<(AdamMoments Target, long Step, PyTorchAdamParameterState Saved)>();
        for (int i = 0; i < own.State.Count; i++)
        {
            AdamMoments target = AdamMoments.Of(own.State[i], path);
            if (!adam.State.TryGetValue(i, out PyTorchAdamParameterState? s))
            {
                if (target.Step == 0)
                {
                    continue; // a parameter that never had a gradient has no state in PyTorch
                }

                throw new InvalidDataException($"{path}: the optimizer state has no entry for parameter {i}.");
            }

            foreach ((string name, Tensor? moment) in new[] { ("exp_avg", s.ExpAvg), ("exp_avg_sq", s.ExpAvgSq), ("max_exp_avg_sq", s.MaxExpAvgSq) })
            {
                if (moment is not null && !moment.is_floating_point())
                {
                    throw new InvalidDataException($"{path}: the optimizer state's parameter {i}: '{name}' is {Describe(moment)}, not a floating-point tensor.");
                }
            }

            values.Add((target, Step(s.Step, i, path), s));
        }

        if (own.Options.FirstOrDefault(o => o is not (Adam.Options or AdamW.Options)) is { } other)
        {
            throw new InvalidOperationException($"Only Adam's and AdamW's state can be restored, not {other.GetType().FullName}'s.");
        }

        return () =>
        {
            using var noGrad = torch.no_grad();
            foreach ((AdamMoments target, long step, PyTorchAdamParameterState s) in values)
            {
                target.Set(step, s.ExpAvg, s.ExpAvgSq, s.MaxExpAvgSq);
            }

            for (int g = 0; g < adam.ParamGroups.Count; g++)
            {
                PyTorchAdamParamGroup group = adam.ParamGroups[g];
                OptimizerOptions target = own.Options[g];
                SetGroupOptions(target, group.LearningRate, group.Beta1, group.Beta2, group.Eps, group.WeightDecay, group.Amsgrad, group.Maximize);
                target.InitialLearningRate = group.InitialLearningRate ?? target.InitialLearningRate;
            }
        };
    }

    /// <summary>Sets a param group's Adam hyper-parameters.</summary>
    private static void SetGroupOptions(OptimizerOptions target, double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad, bool maximize)
    {
        target.LearningRate = lr;
        switch (target)
        {
            case Adam.Options a:
                (a.beta1, a.beta2, a.eps, a.weight_decay, a.amsgrad, a.maximize) = (beta1, beta2, eps, weightDecay, amsgrad, maximize);
                break;
            case AdamW.Options a:
                (a.beta1, a.beta2, a.eps, a.weight_decay, a.amsgrad, a.maximize) = (beta1, beta2, eps, weightDecay, amsgrad, maximize);
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

    /// <summary>The original's validation loss of an epoch: the batch mean when known, else the token-weighted loss; NaN without validation.</summary>
    private static double OriginalsValidationLoss(EvaluationMetrics? validation) =>
        validation is null ? double.NaN : double.IsFinite(validation.BatchMeanLoss) ? validation.BatchMeanLoss : validation.Loss;

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

    private static long Step(double step, int index, string path) =>
        step >= 0 && step == Math.Floor(step) && step < 9e15
            ? (long)step
            : throw new InvalidDataException($"{path}: the optimizer state's step count of parameter {index} is {step}, not a whole number of steps.");

    private static string Describe(object? value) => value switch
    {
        null => "missing",
        Tensor t => $"a {t.dtype} tensor of shape [{string.Join(", ", t.shape)}]",
        _ => $"{value} ({value.GetType().Name})",
    };
}
