namespace NewLlm.Training;

/// <summary>
/// The PyTorch part of a checkpoint (the original trainer's dict, the only copy of the weights and the optimizer state):
/// composed from a run, and checked against a model and an optimizer before it is put into them.
/// </summary>
internal static class PyTorchCheckpointPart
{
    /// <summary>
    /// The run's state as the original's checkpoint dict; its tensors are the model's and the optimizer's own (not
    /// copied), and Adam's state skips, as PyTorch does, a parameter that has taken no step.
    /// </summary>
    public static PyTorchCheckpoint Compose(LanguageModel model, OptimizerHelper optimizer, TrainerState state, TrainerOptions options)
    {
        var adam = new PyTorchAdamState();
        OptimizerHelper.StateDictionary sd = optimizer.state_dict();
        for (int i = 0; i < sd.State.Count; i++)
        {
            AdamMoments s = AdamMoments.Of(sd.State[i], "the optimizer");
            if (s.Step > 0)
            {
                adam.State[i] = new PyTorchAdamParameterState { Step = s.Step, ExpAvg = s.ExpAvg, ExpAvgSq = s.ExpAvgSq, MaxExpAvgSq = s.MaxExpAvgSq };
            }
        }

        int first = 0;
        foreach (ParamGroup group in optimizer.ParamGroups)
        {
            int count = group.Parameters.Count();
            AdamSettings hyper = AdamSettings.Of(group.Options);
            adam.ParamGroups.Add(new PyTorchAdamParamGroup
            {
                LearningRate = group.LearningRate,
                Beta1 = hyper.Beta1,
                Beta2 = hyper.Beta2,
                Eps = hyper.Epsilon,
                WeightDecay = hyper.WeightDecay,
                Amsgrad = hyper.AmsGrad,
                Maximize = hyper.Maximize,
                InitialLearningRate = group.InitialLearningRate,
                ParameterIndices = [.. Enumerable.Range(first, count)],
            });
            first += count;
        }

        return new PyTorchCheckpoint
        {
            ModelState = model.state_dict(),
            Optimizer = adam,
            TrainLosses = [.. state.History.Select(r => r.TrainLoss)],
            // The original's validation figures are its batch means (EvaluationMetrics.BatchMeanLoss): written as such, so
            // that the original's resume compares like with like; the token-weighted one where no batch mean is known.
            ValLosses = [.. state.History.Select(r => OriginalsValidationLoss(r.Validation))],
            TrainPpls = [.. state.History.Select(r => r.TrainPerplexity)],
            ValPpls = [.. state.History.Select(r => Math.Exp(OriginalsValidationLoss(r.Validation)))],
            // The original's convention: the 0-based index of the last epoch completed, -1 before the first (its resume starts at the next).
            CurrentEpoch = state.CompletedEpochs - 1,
            Config = Config(model, options),
        };
    }

    /// <summary>
    /// Checks the checkpoint's weights against <paramref name="model"/> and its Adam state against <paramref name="optimizer"/>
    /// and returns what puts them in (weights, moments, steps, hyper-parameters); throws, having changed nothing, when they do not fit.
    /// </summary>
    public static Action Prepare(PyTorchCheckpoint saved, PyTorchAdamState adam, LanguageModel model, OptimizerHelper optimizer, string path)
    {
        Dictionary<string, Tensor> weights = model.state_dict();
        foreach ((string name, Tensor weight) in weights)
        {
            if (!saved.ModelState.TryGetValue(name, out Tensor? value) || !value.is_floating_point() || !value.shape.SequenceEqual(weight.shape))
            {
                throw new InvalidDataException($"{path}: the checkpoint's '{name}' is {Describe(value)}; the model's is a floating-point tensor of shape [{string.Join(", ", weight.shape)}].");
            }
        }

        OptimizerHelper.StateDictionary own = optimizer.state_dict();
        if (adam.ParamGroups.Count != own.Options.Count)
        {
            throw new InvalidDataException($"{path}: the optimizer state has {adam.ParamGroups.Count} param groups, the trainer's optimizer {own.Options.Count}.");
        }

        if (adam.ParamGroups.Count == 1 && !adam.ParamGroups[0].ParameterIndices.SequenceEqual(Enumerable.Range(0, own.State.Count)))
        {
            throw new InvalidDataException($"{path}: the optimizer state's param group holds parameters [{string.Join(", ", adam.ParamGroups[0].ParameterIndices)}]; the trainer's Adam holds 0 to {own.State.Count - 1} in the model's order.");
        }

        if (adam.State.Keys.FirstOrDefault(i => i >= own.State.Count, -1) is >= 0 and int extra)
        {
            throw new InvalidDataException($"{path}: the optimizer state has a state for parameter {extra}, the trainer's optimizer {own.State.Count} parameters.");
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
            foreach ((string name, Tensor weight) in weights)
            {
                weight.copy_(saved.ModelState[name]);
            }

            foreach ((AdamMoments target, long step, PyTorchAdamParameterState s) in values)
            {
                target.Set(step, s.ExpAvg, s.ExpAvgSq, s.MaxExpAvgSq);
            }

            foreach ((PyTorchAdamParamGroup group, OptimizerOptions target) in adam.ParamGroups.Zip(own.Options))
            {
                new AdamSettings(group.LearningRate, group.Beta1, group.Beta2, group.Eps, group.WeightDecay, group.Amsgrad, group.Maximize).ApplyTo(target);
                target.InitialLearningRate = group.InitialLearningRate ?? target.InitialLearningRate;
            }
        };
    }

    /// <summary>The original's validation loss of an epoch: the batch mean when known, else the token-weighted loss; NaN without validation.</summary>
    private static double OriginalsValidationLoss(EvaluationMetrics? validation) =>
        validation is null ? double.NaN : double.IsFinite(validation.BatchMeanLoss) ? validation.BatchMeanLoss : validation.Loss;

    /// <summary>The original's config attributes that NewLlm knows, as a plain dict (so that a weights-only load reads it).</summary>
    private static Dictionary<string, object?> Config(LanguageModel model, TrainerOptions options)
    {
        Dictionary<string, object?> config = CheckpointModel.Config(model);
        config["learning_rate"] = options.LearningRate;
        config["weight_decay"] = options.WeightDecay;
        config["batch_size"] = options.BatchSize;
        config["num_epochs"] = options.Epochs;
        config["model_name"] = options.ModelName;
        return config;
    }

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
