namespace NewLlm.Training;

/// <summary>
/// One optimizer step over a group of batches whose gradients are summed (gradient accumulation): next-token loss per
/// batch divided by the group's target tokens, backward, gradient-norm clipping, the learning rate set, the update.
/// </summary>
internal sealed class TrainingStep(NewLlmModel model, OptimizerHelper optimizer, Device device, int padId)
{
    /// <summary>Takes the step and adds it and its batches to the state.</summary>
    /// <param name="group">The batches.</param>
    /// <param name="state">The run's state: the step and each batch's loss sums are added to it.</param>
    /// <param name="epoch">The epoch (1-based).</param>
    /// <param name="learningRate">The learning rate of this step.</param>
    /// <param name="maxNorm">The clipping norm; 0 or infinite for none.</param>
    /// <param name="afterBackward">Called when the gradients are complete, before clipping.</param>
    /// <param name="batchEnd">Called with each batch's result once the state counts it (the last one carries the gradient norm before clipping).</param>
    /// <exception cref="TrainingDivergedException">A loss or the gradient norm is not finite.</exception>
    public void Run(LanguageModelBatch[] group, TrainerState state, int epoch, double learningRate, double maxNorm, Action afterBackward, Action<BatchResult> batchEnd)
    {
        Exception Diverged(string what, int index) => TrainingDivergedException.During(state, epoch, what, state.BatchesIntoEpoch + index);

        long groupTokens = group.Sum(b => (long)b.TargetTokenCount);
        optimizer.zero_grad();
        var losses = new double[group.Length];
        for (int i = 0; i < group.Length; i++)
        {
            using var scope = NewDisposeScope();
            (Tensor inputs, Tensor targets) = BatchTensors.ToTensors(group[i], device);
            using NewLlmLoss loss = model.NextTokenLoss(inputs, targets, padId);
            losses[i] = loss.Sum.item<float>();
            if (!double.IsFinite(losses[i]))
            {
                throw Diverged($"the loss is {losses[i].ToString(CultureInfo.InvariantCulture)}", i);
            }

            if (groupTokens > 0)
            {
                loss.Sum.div(groupTokens).backward();
            }
        }

        afterBackward();
        double? gradientNorm = null;
        if (maxNorm > 0 && double.IsFinite(maxNorm))
        {
            gradientNorm = torch.nn.utils.clip_grad_norm_(model.parameters(), maxNorm);
            if (!double.IsFinite(gradientNorm.Value))
            {
                throw Diverged($"the gradient norm is {gradientNorm.Value.ToString(CultureInfo.InvariantCulture)}", group.Length - 1);
            }
        }

        foreach (ParamGroup paramGroup in optimizer.ParamGroups)
        {
            paramGroup.LearningRate = learningRate;
        }

        optimizer.step();
        state.GlobalStep++;
        for (int i = 0; i < group.Length; i++)
        {
            LanguageModelBatch batch = group[i];
            state.AddBatch(losses[i], batch.TargetTokenCount, batch.ByteCount);
            batchEnd(new BatchResult(epoch, state.BatchesIntoEpoch - 1, state.BatchesPerEpoch, state.GlobalStep,
                batch.TargetTokenCount == 0 ? double.NaN : losses[i] / batch.TargetTokenCount, batch.TargetTokenCount, learningRate, i == group.Length - 1 ? gradientNorm : null));
        }
    }
}
