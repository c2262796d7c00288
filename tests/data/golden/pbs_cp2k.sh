#!/bin/bash
#PBS -N atomistics
#PBS -l select=1:ncpus=128:mpiprocs=32:ompthreads=4:mem=8gb
#PBS -l walltime=24:00:00
#PBS -q workq
#PBS -A my_project
#PBS -o FW_job.out
#PBS -e FW_job.error

# Node memory (atomistics submit -q refuses jobs above it): 256GB
# CP2K: 32 MPI ranks x 4 OpenMP threads (atomistics CP2K engine).
export OMP_NUM_THREADS=4
export OMP_PLACES=cores
export CP2K_COMMAND="mpiexec -n 32 --depth=4 --cpu-bind depth cp2k.psmp"
export CP2K_DATA_DIR=/path/to/cp2k/data
export FW_CONFIG_FILE=/path/to/study/FW_config.yaml
module load cp2k
cd /scratch/study/launcher_0001
rlaunch -w /path/to/my_fworker.yaml singleshot
# CommonAdapter (PBS, atomistics CP2K) completed writing Template
